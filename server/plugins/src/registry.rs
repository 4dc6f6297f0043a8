//! The registry: which plugins are active in which version, compiled and ready, swapped
//! atomically.
//!
//! The store keeps the records; the registry keeps a [`Snapshot`] of them with the compiled
//! component of each active version. Every change (upload, enable, reorder, configure, roll
//! back, automatic disable) builds a new snapshot and replaces the old one in one step. A
//! pipeline run takes the snapshot once at its start, so calls in flight finish on the
//! version they started with and the next message sees the new one. Nothing restarts.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tandem_domain::Actor;
use tandem_proto::{self as proto, PluginWorld};
use tandem_store::{Store, plugins::{ActivePlugin, NewPluginVersion}};
use tokio::sync::Mutex as AsyncMutex;

use crate::error::PluginError;
use crate::runtime::{LoadedComponent, Runtime};

/// One plugin as the pipeline sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub plugin: ActivePlugin,
    /// `None` when the active version could not be loaded (see `load_error`).
    pub component: Option<LoadedComponent>,
    pub load_error: Option<String>,
}

/// The plugins at one moment, by world and position.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub entries: Vec<Entry>,
}

impl Snapshot {
    /// Enabled plugins of `world` that cover `inbox_id`, in admin order.
    pub fn enabled(&self, world: PluginWorld, inbox_id: i64) -> impl Iterator<Item = &Entry> {
        self.covering(inbox_id).filter(move |e| e.plugin.world == world)
    }

    /// Whether any enabled plugin, of any world, covers `inbox_id`: a message there has a
    /// pipeline run to make (one whose plugin failed to load included: its failure is recorded).
    pub fn covers(&self, inbox_id: i64) -> bool {
        self.covering(inbox_id).next().is_some()
    }

    /// Enabled plugins of every world that cover `inbox_id`, in admin order.
    fn covering(&self, inbox_id: i64) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.plugin.enabled && e.plugin.covers(inbox_id))
    }

    pub fn get(&self, plugin_id: i64) -> Option<&Entry> {
        self.entries.iter().find(|e| e.plugin.id == plugin_id)
    }
}

/// A bundled plugin to install on first start.
#[derive(Debug, Clone)]
pub struct Bundled {
    pub name: &'static str,
    pub file: &'static str,
    pub config: serde_json::Value,
}

/// How a component is registered besides its bytes.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Ships with Tandem.
    pub bundled: bool,
    /// Whether a plugin created now starts enabled (uploads wait for an admin after a dry run;
    /// bundled ones start enabled). Existing plugins keep their state.
    pub enable_new: bool,
    /// Configuration of a plugin created now.
    pub initial_config: serde_json::Value,
}

impl Default for Registration {
    fn default() -> Self {
        Registration { bundled: false, enable_new: false, initial_config: serde_json::json!({}) }
    }
}

/// The plugins shipped with Tandem, as built by `./x plugins` (`<crate>.wasm`).
pub fn bundled() -> Vec<Bundled> {
    vec![
        Bundled { name: "keyword-classifier", file: "keyword_classifier.wasm", config: serde_json::json!({}) },
        Bundled { name: "skills-router", file: "skills_router.wasm", config: serde_json::json!({}) },
        Bundled { name: "template-responder", file: "template_responder.wasm", config: serde_json::json!({}) },
    ]
}

pub struct Registry {
    runtime: Runtime,
    store: Store,
    current: RwLock<Arc<Snapshot>>,
    /// Compiled components by version id, so a swap back to a known version is instant.
    compiled: Mutex<HashMap<i64, LoadedComponent>>,
    /// Serialises rebuilds so two changes cannot publish snapshots out of order.
    rebuild: AsyncMutex<()>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("plugins", &self.snapshot().entries.len()).finish_non_exhaustive()
    }
}

impl Registry {
    /// Loads every plugin's active version (compiling through the on-disk cache).
    pub async fn open(store: Store, runtime: Runtime) -> Result<Arc<Registry>, PluginError> {
        let registry = Arc::new(Registry {
            runtime,
            store,
            current: RwLock::new(Arc::new(Snapshot::default())),
            compiled: Mutex::new(HashMap::new()),
            rebuild: AsyncMutex::new(()),
        });
        registry.reload().await?;
        Ok(registry)
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The plugins now. Cheap: an `Arc` clone.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Rebuilds the snapshot from the store and publishes it.
    pub async fn reload(&self) -> Result<(), PluginError> {
        let _one_at_a_time = self.rebuild.lock().await;
        let plugins = self.store.active_plugins().await?;
        let mut entries = Vec::with_capacity(plugins.len());
        for plugin in plugins {
            let known = self.compiled.lock().unwrap_or_else(PoisonError::into_inner).get(&plugin.version_id).cloned();
            let (component, load_error) = match known {
                Some(c) => (Some(c), None),
                None => match self.load_version(&plugin).await {
                    Ok(c) => {
                        self.compiled.lock().unwrap_or_else(PoisonError::into_inner).insert(plugin.version_id, c.clone());
                        (Some(c), None)
                    }
                    Err(e) => {
                        tracing::error!(plugin = %plugin.name, version = plugin.version_number, error = %e, "plugin version cannot be loaded");
                        (None, Some(e.to_string()))
                    }
                },
            };
            entries.push(Entry { plugin, component, load_error });
        }
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(Snapshot { entries });
        Ok(())
    }

    async fn load_version(&self, plugin: &ActivePlugin) -> Result<LoadedComponent, PluginError> {
        let (_, bytes) = self.store.plugin_version(plugin.id, plugin.version_id).await?;
        self.runtime.load(Arc::from(bytes)).await
    }

    /// Uploads a component: checks and compiles it first (nothing is stored if that fails),
    /// then registers it as a new (disabled) plugin or the new active version of `name`.
    /// `world`, when given, must be the world the component implements.
    pub async fn upload(&self, actor: &Actor, name: &str, world: Option<PluginWorld>, bytes: Vec<u8>) -> Result<proto::Plugin, PluginError> {
        tandem_domain::policy::authorize(actor, tandem_domain::policy::Action::ManagePlugins).map_err(tandem_store::StoreError::from)?;
        self.register(Some(actor), name, world, bytes, Registration::default()).await
    }

    /// Checks and compiles `bytes`, stores them as a version of plugin `name`, and publishes
    /// the result. The one path every component takes into the registry: uploads, bundled
    /// plugins, test fixtures. `actor` is `None` when the server itself registers.
    pub async fn register(
        &self,
        actor: Option<&Actor>,
        name: &str,
        world: Option<PluginWorld>,
        bytes: Vec<u8>,
        how: Registration,
    ) -> Result<proto::Plugin, PluginError> {
        let bytes: Arc<[u8]> = Arc::from(bytes);
        let loaded = self.runtime.load(Arc::clone(&bytes)).await?;
        if let Some(expected) = world
            && expected != loaded.world
        {
            return Err(PluginError::Invalid(format!("the component implements the {} world, not {expected}", loaded.world)));
        }
        let plugin = self
            .store
            .add_plugin_version(actor, NewPluginVersion {
                name,
                world: loaded.world,
                wit_version: loaded.wit_version,
                bytes: &bytes,
                bundled: how.bundled,
                enable_new: how.enable_new,
                initial_config: how.initial_config,
            })
            .await?;
        self.compiled.lock().unwrap_or_else(PoisonError::into_inner).insert(plugin.active_version.id, loaded);
        self.reload().await?;
        Ok(plugin)
    }

    /// Changes a plugin's settings and publishes the result. A new configuration is first put
    /// to the plugin itself ([`Registry::check_config`]).
    pub async fn update(&self, actor: &Actor, id: i64, input: proto::UpdatePlugin) -> Result<proto::Plugin, PluginError> {
        if let Some(config) = &input.config {
            // Admins only, and the plugin must exist, before it runs.
            let plugin = self.store.get_plugin(actor, id).await?;
            self.check_config(&plugin, input.active_version_id, config).await?;
        }
        let plugin = self.store.update_plugin(actor, id, input).await?;
        self.reload().await?;
        Ok(plugin)
    }

    /// Asks the plugin whether it takes `config` before it is saved: the version that is to be
    /// active runs once, with `config`, on a sample message in its first inbox, applying
    /// nothing (as a dry run). If it answers `invalid-config`, the change is refused (422,
    /// field `config`) with the plugin's own words, instead of every message failing on it
    /// later until the plugin is disabled. Any other outcome lets the change through: a
    /// decision, or a failure that is not about the configuration (the pipeline records those
    /// as usual); so does a desk without inboxes, where there is nothing to try it on.
    async fn check_config(&self, plugin: &proto::Plugin, version_id: Option<i64>, config: &serde_json::Value) -> Result<(), PluginError> {
        if !config.is_object() {
            return Ok(()); // the store refuses it, with its own message
        }
        let sample = proto::SampleMessage {
            from: "customer@example.com".to_owned(),
            from_name: Some("Configuration check".to_owned()),
            subject: "Checking a new configuration".to_owned(),
            text: "Hello, this sample message checks a new plugin configuration.".to_owned(),
            headers: Vec::new(),
            inbox_id: plugin.inbox_ids.first().copied(),
        };
        let view = match self.store.sample_view(&sample).await {
            Ok(view) => view,
            Err(tandem_store::StoreError::Domain(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let now = self.store.clock().now().timestamp_micros();
        let tried = match crate::pipeline::dry_run(self, plugin.id, version_id, &view, Some(config.to_string()), now).await {
            Ok(tried) => tried,
            Err(PluginError::Store(e)) => return Err(e.into()),
            // The version cannot be loaded: nothing can be asked; the store decides the rest.
            Err(e) => {
                tracing::warn!(plugin = plugin.id, error = %e, "configuration not checked");
                return Ok(());
            }
        };
        match tried.failure.as_ref().and_then(crate::runtime::invalid_config_reason) {
            Some(why) => Err(tandem_store::StoreError::validation("config", format!("the plugin refuses this configuration: {why}")).into()),
            None => Ok(()),
        }
    }

    /// Installs the bundled plugins found in `dir` that are not registered yet, enabled.
    /// Returns the names installed.
    pub async fn install_bundled(&self, dir: &Path) -> Result<Vec<String>, PluginError> {
        let existing: Vec<String> = self.store.active_plugins().await?.into_iter().map(|p| p.name).collect();
        let mut installed = Vec::new();
        for bundled in bundled() {
            if existing.iter().any(|n| n == bundled.name) {
                continue;
            }
            let path = dir.join(bundled.file);
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "bundled plugin not found; build it with `./x plugins`");
                    continue;
                }
            };
            let how = Registration { bundled: true, enable_new: true, initial_config: bundled.config.clone() };
            self.register(None, bundled.name, None, bytes, how).await?;
            installed.push(bundled.name.to_owned());
        }
        Ok(installed)
    }
}
