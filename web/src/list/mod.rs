//! The ticket list: sidebar views, the table, filters and bulk actions.

mod bulk;
mod saved;
mod sidebar;
mod table;

pub use tandem_web_core::filter::Filter;
pub use saved::SavedViews;
pub use sidebar::Sidebar;
pub use table::TicketList;
