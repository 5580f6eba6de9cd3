//! `journal_prune_runs`: the audit trail of journal before-image pruning.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "journal_prune_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub prune_id: String,
    pub actor: String,
    pub retention_days: i64,
    pub jobs_examined: i64,
    pub jobs_pruned: i64,
    pub before_images_removed: i64,
    pub bytes_removed: i64,
    pub pruned_job_ids: Json,
    pub skipped: Json,
    pub pruned_at: ChronoDateTimeUtc,
    pub pruned_at_us: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
