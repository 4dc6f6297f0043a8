//! Pre-initialisation at upload (Wizer): a component that exports `wizer-initialize` is
//! instantiated once, in a sandbox like a call's, that function runs, and the state it leaves
//! (its linear memories and globals) is written back into the component as its initial state.
//! Each later call still gets a fresh instance, but one that starts from that state: work a
//! plugin would otherwise repeat at the start of every call (building lookup tables, growing
//! its heap, running constructors) is done once, at upload. The Rust SDK's export macros add
//! the function; a component without it is used as uploaded.
//!
//! The frozen WIT worlds do not name the function: it is an extra export of the component,
//! which only this module calls (the pre-initialised component still exports it, since its
//! component-level export refers to it, but nothing calls it again).

use wasmtime::Store;
use wasmtime::component::{Component, Instance, Lift, WasmList, types::ComponentItem};
use wasmtime_wizer::ComponentInstanceState;

use crate::sandbox::Sandbox;

/// The export that asks for pre-initialisation (Wizer's name for it).
pub const INIT_EXPORT: &str = "wizer-initialize";

/// Whether uploaded bytes export [`INIT_EXPORT`] from the component itself (not from a module
/// or component nested in it): read from the export sections, without compiling, so that a
/// component asking to be pre-initialised is never compiled as uploaded. Bytes that do not
/// parse give `false`; compiling them says what is wrong.
pub fn exports_init(bytes: &[u8]) -> bool {
    // `parse_all` walks into nested modules and components; each starts with a `Version`
    // payload and finishes with an `End`, so depth 1 is the uploaded component itself.
    let mut depth = 0_usize;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(wasmparser::Payload::Version { .. }) => depth += 1,
            Ok(wasmparser::Payload::End(_)) => depth = depth.saturating_sub(1),
            Ok(wasmparser::Payload::ComponentExportSection(exports)) if depth == 1 => {
                for export in exports {
                    match export {
                        Ok(export) if export.name.name == INIT_EXPORT => return true,
                        Ok(_) => {}
                        Err(_) => return false,
                    }
                }
            }
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// Whether a compiled component asks to be pre-initialised, and if so whether the export has
/// the one type it may have (no parameters, no results).
pub fn requested(component: &Component) -> Result<bool, String> {
    let Some((item, _)) = component.get_export(None, INIT_EXPORT) else { return Ok(false) };
    match item {
        ComponentItem::ComponentFunc(ty) if ty.params().len() == 0 && ty.results().len() == 0 => Ok(true),
        _ => Err(format!("its `{INIT_EXPORT}` export must be a function without parameters or results")),
    }
}

/// Reads an initialised instance's state through the accessors Wizer's instrumentation
/// added. The trait's methods cannot fail, so the first failure is kept here and
/// [`Accessors::finish`] turns the snapshot into an error.
#[allow(missing_debug_implementations)] // a borrowed store and instance: nothing to show
pub struct Accessors<'a> {
    store: &'a mut Store<Sandbox>,
    instance: Instance,
    failure: Option<String>,
}

impl<'a> Accessors<'a> {
    pub fn new(store: &'a mut Store<Sandbox>, instance: Instance) -> Accessors<'a> {
        Accessors { store, instance, failure: None }
    }

    /// The rewritten component, unless reading the state failed.
    pub fn finish(self, snapshot: wasmtime::Result<Vec<u8>>) -> wasmtime::Result<Vec<u8>> {
        match self.failure {
            Some(failure) => Err(wasmtime::format_err!("reading the initialised state: {failure}")),
            None => snapshot,
        }
    }

    async fn call<R, O>(&mut self, instance: &str, func: &str, use_ret: impl FnOnce(&Store<Sandbox>, R) -> O) -> Option<O>
    where
        R: Lift + Send + Sync + 'static,
    {
        if self.failure.is_some() {
            return None;
        }
        let result: wasmtime::Result<O> = async {
            let (_, parent) = self.instance.get_export(&mut *self.store, None, instance).ok_or_else(|| wasmtime::format_err!("no export `{instance}`"))?;
            let (_, index) = self
                .instance
                .get_export(&mut *self.store, Some(&parent), func)
                .ok_or_else(|| wasmtime::format_err!("no export `{instance}#{func}`"))?;
            let typed = self.instance.get_typed_func::<(), (R,)>(&mut *self.store, index)?;
            let (ret,) = typed.call_async(&mut *self.store, ()).await?;
            Ok(use_ret(&*self.store, ret))
        }
        .await;
        match result {
            Ok(out) => Some(out),
            Err(e) => {
                self.failure = Some(format!("{e:#}"));
                None
            }
        }
    }
}

impl ComponentInstanceState for Accessors<'_> {
    async fn call_func_ret_list_u8(&mut self, instance: &str, func: &str, contents: impl FnOnce(&[u8]) + Send) {
        self.call(instance, func, |store, list: WasmList<u8>| contents(list.as_le_slice(store))).await;
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func, |_, r: i32| r).await.unwrap_or_default()
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func, |_, r: i64| r).await.unwrap_or_default()
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call(instance, func, |_, r: f32| r.to_bits()).await.unwrap_or_default()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call(instance, func, |_, r: f64| r.to_bits()).await.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use wasm_encoder::{
        CodeSection, ComponentBuilder, ComponentExportKind, ExportKind, ExportSection, Function, FunctionSection, Instruction, Module,
        ModuleArg, PrimitiveValType, TypeSection, ValType,
    };
    use wasmtime::{Config, Engine};

    use super::*;

    /// A core module exporting, as `name`, a function that takes `params` i32s and does nothing.
    fn module_exporting(name: &str, params: usize) -> Module {
        let mut module = Module::new();
        let mut types = TypeSection::new();
        types.ty().function(vec![ValType::I32; params], []);
        module.section(&types);
        let mut functions = FunctionSection::new();
        functions.function(0);
        module.section(&functions);
        let mut exports = ExportSection::new();
        exports.export(name, ExportKind::Func, 0);
        module.section(&exports);
        let mut code = CodeSection::new();
        let mut body = Function::new([]);
        body.instruction(&Instruction::End);
        code.function(&body);
        module.section(&code);
        module
    }

    /// A component exporting `name` as a function lifted from [`module_exporting`]'s function;
    /// `params` = 1 gives it a `u32` parameter.
    fn component_exporting(name: &str, params: usize) -> Vec<u8> {
        let module = module_exporting("f", params);
        let mut component = ComponentBuilder::default();
        let module_index = component.core_module(None, &module);
        let instance = component.core_instantiate(None, module_index, Vec::<(&str, ModuleArg)>::new());
        let core_func = component.core_alias_export(None, instance, "f", ExportKind::Func);
        let (ty, mut encoder) = component.type_function(None);
        let param_names = ["x"];
        encoder.params(param_names.iter().take(params).map(|n| (*n, PrimitiveValType::U32)));
        encoder.result(None);
        let func = component.lift_func(None, core_func, ty, []);
        component.export(name, ComponentExportKind::Func, func, None);
        component.finish()
    }

    fn compile(bytes: &[u8]) -> Component {
        let engine = Engine::new(Config::new().wasm_component_model(true)).expect("engine");
        Component::new(&engine, bytes).expect("a valid component")
    }

    #[test]
    fn the_init_export_is_found_without_compiling() {
        assert!(exports_init(&component_exporting(INIT_EXPORT, 0)));
        assert!(exports_init(&component_exporting(INIT_EXPORT, 1)), "its type is checked once compiled");
        assert!(!exports_init(&component_exporting("something-else", 0)));
        // A core module exporting the name (as the components' inner modules do) is not asked.
        let module = module_exporting(INIT_EXPORT, 0);
        let mut nested = ComponentBuilder::default();
        nested.core_module(None, &module);
        assert!(!exports_init(&nested.finish()));
        assert!(!exports_init(&module.finish()));
        // Broken bytes: no, and compiling them will say why.
        let whole = component_exporting(INIT_EXPORT, 0);
        assert!(!exports_init(&whole[..whole.len() / 2]));
        assert!(!exports_init(b"not wasm"));
    }

    #[test]
    fn only_an_init_export_without_parameters_or_results_asks_for_it() {
        assert_eq!(requested(&compile(&component_exporting(INIT_EXPORT, 0))), Ok(true));
        assert_eq!(requested(&compile(&component_exporting("something-else", 0))), Ok(false));
        let wrong = requested(&compile(&component_exporting(INIT_EXPORT, 1)));
        assert_eq!(wrong, Err("its `wizer-initialize` export must be a function without parameters or results".to_owned()));
    }
}
