//! The ticket list: sidebar views, the table, filters and bulk actions.

mod bulk;
mod filter;
mod saved;
mod sidebar;
mod table;

pub use filter::Filter;
pub use saved::SavedViews;
pub use sidebar::Sidebar;
pub use table::TicketList;
