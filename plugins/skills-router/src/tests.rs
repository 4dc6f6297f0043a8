use tandem_plugin_sdk::{Assignment, Availability::*, Routing, sample};

use super::*;

fn teams() -> Vec<Team> {
    vec![sample::team(10, "Tech support", &[1, 2, 3]), sample::team(11, "Billing", &[4]), sample::team(12, "Sales", &[5])]
}

fn agents() -> Vec<Agent> {
    vec![
        sample::agent(1, "Ann", &["ru"], Online, 3, &[10]),
        sample::agent(2, "Bob", &[], Online, 1, &[10]),
        sample::agent(3, "Cid", &["bug"], Online, 1, &[10]),
        sample::agent(4, "Dee", &["billing"], Away, 0, &[11]),
        sample::agent(5, "Eve", &["pl"], Online, 2, &[12]),
    ]
}

fn input(category: Option<&str>, language: Option<&str>, number: i64) -> RouteInput {
    let mut input = sample::route_input("c@customer.test", "Help", "text", agents(), teams());
    input.ticket.category = category.map(str::to_owned);
    input.ticket.language = language.map(str::to_owned);
    input.ticket.number = number;
    input
}

fn assigned(decision: &RouteDecision) -> (Option<i64>, Option<i64>) {
    match &decision.routing {
        Routing::Assign(Assignment { team_id, assignee_id }) => (*team_id, *assignee_id),
        Routing::NoDecision => panic!("no decision: {}", decision.reason),
    }
}

#[test]
fn category_picks_the_team_and_skill_then_load() {
    let d = route(&input(Some("bug"), Some("en"), 1001), &Config::default());
    // Cid has the `bug` skill; Bob has as few tickets but not the skill.
    assert_eq!(assigned(&d), (Some(10), Some(3)), "{}", d.reason);
    assert!(d.reason.contains("skill bug"), "{}", d.reason);
}

#[test]
fn language_is_a_requirement() {
    let d = route(&input(Some("login"), Some("ru"), 1001), &Config::default());
    assert_eq!(assigned(&d), (Some(10), Some(1)), "only Ann speaks Russian, though she has the most tickets: {}", d.reason);
}

#[test]
fn ties_rotate_with_the_ticket_number() {
    let mut config = Config::default();
    config.teams_by_category.clear();
    config.default_team = Some("Tech support".to_owned());
    // Bob and Cid both have 1 open ticket and speak English.
    let picks: Vec<Option<i64>> = (1000..1004).map(|n| assigned(&route(&input(None, Some("en"), n), &config)).1).collect();
    assert_eq!(picks, vec![Some(2), Some(3), Some(2), Some(3)]);
}

#[test]
fn nobody_available_goes_to_the_team_queue() {
    let d = route(&input(Some("billing"), Some("en"), 1001), &Config::default());
    assert_eq!(assigned(&d), (Some(11), None), "Dee is away: {}", d.reason);
    assert!(d.reason.contains("team queue"), "{}", d.reason);
    let config = Config { accept_away: true, ..Config::default() };
    assert_eq!(assigned(&route(&input(Some("billing"), Some("en"), 1001), &config)), (Some(11), Some(4)));
}

#[test]
fn already_assigned_is_left_alone_and_load_caps_apply() {
    let mut i = input(Some("bug"), None, 1001);
    i.ticket.assignee_id = Some(2);
    assert_eq!(route(&i, &Config::default()).routing, Routing::NoDecision);

    let config = Config { max_open_tickets: Some(1), ..Config::default() };
    let d = route(&input(Some("bug"), Some("en"), 1001), &config);
    assert_eq!(assigned(&d), (Some(10), None), "everyone in tech support has ≥ 1 open: {}", d.reason);
}

#[test]
fn unknown_team_names_fall_through_and_config_errors_are_reported() {
    let mut config = Config::default();
    config.teams_by_category.insert("bug".to_owned(), "No such team".to_owned());
    let d = route(&input(Some("bug"), Some("pl"), 1001), &config);
    // No team: the whole inbox, and Eve speaks Polish.
    assert_eq!(assigned(&d), (None, Some(5)), "{}", d.reason);
    let cx = Context::for_test(serde_json::json!({ "teams_by_category": ["not", "a", "map"] }), sample::MONDAY_9AM);
    assert!(matches!(SkillsRouter::route(input(None, None, 1), &cx), Err(PluginError::InvalidConfig(_))));
}
