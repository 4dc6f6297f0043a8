//! Canned responses, rendered with MiniJinja (Jinja2 syntax: `{{ contact.name }}`,
//! `{% if ticket.priority == "urgent" %}`). Rendering is sandboxed: no I/O, bounded fuel,
//! undefined variables render as empty so a missing company does not break a reply.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::DomainError;

/// The variables a template can use.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TemplateContext {
    pub contact: ContactVars,
    pub ticket: TicketVars,
    pub agent: AgentVars,
    pub inbox: InboxVars,
    /// The ticket's satisfaction link (`{{ csat_link }}`): signed, valid for 30 days.
    pub csat_link: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ContactVars {
    pub name: String,
    pub first_name: String,
    pub email: String,
    pub company: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TicketVars {
    pub number: i64,
    pub subject: String,
    pub status: String,
    pub priority: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AgentVars {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct InboxVars {
    pub name: String,
    pub address: String,
}

impl ContactVars {
    pub fn new(name: &str, email: &str, company: Option<String>) -> Self {
        let first_name = name.split_whitespace().next().unwrap_or_default().to_owned();
        ContactVars { name: name.to_owned(), first_name, email: email.to_owned(), company }
    }
}

impl TemplateContext {
    /// Stand-in values for previews without a ticket.
    pub fn sample(agent: AgentVars) -> Self {
        TemplateContext {
            contact: ContactVars::new("Anna Kowalska", "anna@example.com", Some("example.com".into())),
            ticket: TicketVars {
                number: 1001,
                subject: "Invoice missing".into(),
                status: "open".into(),
                priority: "normal".into(),
            },
            agent,
            inbox: InboxVars { name: "Support".into(), address: "support@example.com".into() },
            csat_link: "https://help.example.com/csat/sample".into(),
        }
    }
}

/// Renders at most this much work (MiniJinja fuel), so a template loop cannot hang a request.
const FUEL: u64 = 50_000;
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

/// Checks that a template parses, naming the field and line of the first error.
pub fn check(field: &str, source: &str) -> Result<(), DomainError> {
    if source.len() > MAX_TEMPLATE_BYTES {
        return Err(DomainError::validation(field, format!("a template has at most {MAX_TEMPLATE_BYTES} bytes")));
    }
    let env = environment();
    env.template_from_str(source).map(|_| ()).map_err(|e| template_error(field, &e))
}

/// Renders one template source against the context.
pub fn render(field: &str, source: &str, ctx: &TemplateContext) -> Result<String, DomainError> {
    check(field, source)?;
    let env = environment();
    env.render_str(source, ctx).map_err(|e| template_error(field, &e))
}

fn template_error(field: &str, error: &minijinja::Error) -> DomainError {
    let line = error.line().map(|l| format!(" on line {l}")).unwrap_or_default();
    let detail = error.detail().map(str::to_owned).unwrap_or_else(|| error.kind().to_string());
    DomainError::validation(field, format!("template error{line}: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> TemplateContext {
        TemplateContext::sample(AgentVars { name: "Olga".into(), email: "olga@demo.test".into() })
    }

    #[test]
    fn renders_the_documented_variables() {
        let out = render(
            "body",
            "Hello {{contact.first_name}}, re #{{ ticket.number }} ({{ticket.priority}}). {{ agent.name }}, {{ inbox.name }}",
            &ctx(),
        )
        .expect("renders");
        assert_eq!(out, "Hello Anna, re #1001 (normal). Olga, Support");
    }

    #[test]
    fn missing_values_render_empty_and_html_is_not_escaped() {
        let out = render("body", "[{{ contact.nickname.first }}] <b>{{ contact.name }}</b>", &ctx()).expect("renders");
        assert_eq!(out, "[] <b>Anna Kowalska</b>");
    }

    #[test]
    fn syntax_errors_name_the_line_and_runaway_loops_stop() {
        let err = render("body", "line one\n{% if %}", &ctx()).expect_err("syntax error");
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = render("body", "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", &ctx())
            .expect_err("out of fuel");
        assert!(err.to_string().contains("fuel"), "{err}");
    }
}
