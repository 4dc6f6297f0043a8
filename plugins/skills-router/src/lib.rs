//! `skills-router`, bundled with Tandem.
//!
//! 1. A ticket that already has an assignee is left alone (no decision).
//! 2. The team: by the ticket's category (`teams_by_category`), else by its language
//!    (`teams_by_language`), else `default_team`, else the team it already has. Teams are
//!    named by name (case-insensitive) or id.
//! 3. The candidates: online agents (and, if `accept_away` and nobody is online, away ones) of
//!    that team (of the whole inbox when there is no team), below `max_open_tickets`.
//! 4. The needed skill: the ticket's language. An agent speaks it when it is among their
//!    skills or is their interface language. Agents who also have the category as a skill
//!    come first.
//! 5. Among those, the fewest open tickets wins; ties rotate with the ticket number (ticket
//!    1001 goes to the first of the tied agents, 1002 to the second, …): round-robin without
//!    state.
//! 6. Nobody qualifies → the ticket goes to the team's queue (team only), or no decision.

use std::collections::BTreeMap;

use serde::Deserialize;
use tandem_plugin_sdk::{Agent, Availability, Context, PluginError, RouteDecision, RouteInput, Router, Team};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub teams_by_category: BTreeMap<String, String>,
    pub teams_by_language: BTreeMap<String, String>,
    pub default_team: Option<String>,
    /// Consider agents who are away when nobody suitable is online.
    pub accept_away: bool,
    /// Agents with this many open tickets or more are not given new ones.
    pub max_open_tickets: Option<u32>,
    /// Route tickets that already have a team but no assignee (default true).
    pub assign_within_existing_team: bool,
}

impl Default for Config {
    fn default() -> Self {
        let teams_by_category = [("billing", "Billing"), ("login", "Tech support"), ("bug", "Tech support"), ("sales", "Sales")]
            .into_iter()
            .map(|(c, t)| (c.to_owned(), t.to_owned()))
            .collect();
        Config {
            teams_by_category,
            teams_by_language: BTreeMap::new(),
            default_team: None,
            accept_away: false,
            max_open_tickets: None,
            assign_within_existing_team: true,
        }
    }
}

#[derive(Debug)]
pub struct SkillsRouter;

impl Router for SkillsRouter {
    fn route(input: RouteInput, cx: &Context) -> Result<RouteDecision, PluginError> {
        let config: Config = cx.config()?;
        Ok(route(&input, &config))
    }
}

tandem_plugin_sdk::export_router!(SkillsRouter);

pub fn route(input: &RouteInput, config: &Config) -> RouteDecision {
    let ticket = &input.ticket;
    if ticket.assignee_id.is_some() {
        return RouteDecision::no_decision("already assigned");
    }
    let (team, why_team) = choose_team(input, config);
    if team.is_none() && ticket.team_id.is_some() && !config.assign_within_existing_team {
        return RouteDecision::no_decision("has a team; assigning within it is off");
    }
    let pool: Vec<&Agent> = input.agents.iter().filter(|a| team.is_none_or(|t| in_team(a, t))).collect();
    let under_load = |a: &&Agent| config.max_open_tickets.is_none_or(|max| a.open_tickets < max);
    let mut available: Vec<&Agent> = pool.iter().copied().filter(|a| a.availability == Availability::Online).filter(under_load).collect();
    let mut availability_note = "online";
    if available.is_empty() && config.accept_away {
        available = pool.iter().copied().filter(|a| a.availability == Availability::Away).filter(under_load).collect();
        availability_note = "away (nobody online)";
    }
    let language = ticket.language.as_deref().filter(|l| !l.is_empty());
    let speakers: Vec<&Agent> = match language {
        Some(lang) => available.iter().copied().filter(|a| speaks(a, lang)).collect(),
        None => available.clone(),
    };
    let team_id = team.map(|t| t.id);
    let team_text = team.map(|t| format!("team {} ({why_team})", t.name)).unwrap_or_else(|| "no team".to_owned());
    if speakers.is_empty() {
        let missing = match (available.is_empty(), language) {
            (true, _) => format!("nobody {availability_note} in {}", team.map(|t| t.name.as_str()).unwrap_or("the inbox")),
            (false, Some(lang)) => format!("nobody available speaks {lang}"),
            (false, None) => "nobody available".to_owned(),
        };
        return match team_id {
            Some(id) if Some(id) != ticket.team_id => RouteDecision::assign(Some(id), None, format!("{team_text}; {missing}: team queue")),
            _ => RouteDecision::no_decision(format!("{team_text}; {missing}")),
        };
    }
    let category = ticket.category.as_deref().filter(|c| !c.is_empty());
    let has_category_skill = |a: &Agent| category.is_some_and(|c| a.skills.iter().any(|s| s.eq_ignore_ascii_case(c)));
    let best_skill = speakers.iter().any(|a| has_category_skill(a));
    let mut finalists: Vec<&Agent> = speakers.into_iter().filter(|a| !best_skill || has_category_skill(a)).collect();
    let least = finalists.iter().map(|a| a.open_tickets).min().unwrap_or(0);
    finalists.retain(|a| a.open_tickets == least);
    finalists.sort_by_key(|a| a.id);
    let index = usize::try_from(ticket.number.rem_euclid(finalists.len() as i64)).unwrap_or(0);
    let chosen = finalists[index];
    let mut reason = format!("{team_text}; {} ({availability_note}, {} open", chosen.name, chosen.open_tickets);
    if let Some(lang) = language {
        reason.push_str(&format!(", speaks {lang}"));
    }
    if best_skill && let Some(c) = category {
        reason.push_str(&format!(", skill {c}"));
    }
    reason.push(')');
    if finalists.len() > 1 {
        reason.push_str(&format!("; round-robin among {} tied agents", finalists.len()));
    }
    RouteDecision::assign(team_id, Some(chosen.id), reason)
}

fn choose_team<'a>(input: &'a RouteInput, config: &Config) -> (Option<&'a Team>, String) {
    let ticket = &input.ticket;
    let find = |name: &str| input.teams.iter().find(|t| t.name.eq_ignore_ascii_case(name.trim()) || t.id.to_string() == name.trim());
    if let Some(category) = &ticket.category
        && let Some(team) = config.teams_by_category.get(category).and_then(|n| find(n))
    {
        return (Some(team), format!("category {category}"));
    }
    if let Some(language) = &ticket.language
        && let Some(team) = config.teams_by_language.get(language).and_then(|n| find(n))
    {
        return (Some(team), format!("language {language}"));
    }
    if let Some(team) = config.default_team.as_deref().and_then(find) {
        return (Some(team), "default team".to_owned());
    }
    if let Some(id) = ticket.team_id
        && let Some(team) = input.teams.iter().find(|t| t.id == id)
    {
        return (Some(team), "its team".to_owned());
    }
    (None, String::new())
}

fn in_team(agent: &Agent, team: &Team) -> bool {
    team.members.contains(&agent.id) || agent.teams.contains(&team.id)
}

fn speaks(agent: &Agent, language: &str) -> bool {
    agent.language.eq_ignore_ascii_case(language) || agent.skills.iter().any(|s| s.eq_ignore_ascii_case(language))
}

#[cfg(test)]
mod tests;
