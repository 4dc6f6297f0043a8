//! Satisfaction on five points: the per-inbox scale and the score of a rating (its good /
//! okay / bad rating is still stored, so reports read one column).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
ALTER TABLE inboxes ADD COLUMN csat_scale TEXT NOT NULL DEFAULT 'three';
ALTER TABLE csat_ratings ADD COLUMN score BIGINT
"#;

const DOWN: &str = "ALTER TABLE csat_ratings DROP COLUMN score; ALTER TABLE inboxes DROP COLUMN csat_scale";

#[allow(elided_lifetimes_in_paths)] // the trait is declared this way
#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run_ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run_ddl(manager, DOWN).await
    }
}
