//! Which warnings and breaches a ticket's due times call for, and when to look again.
//!
//! Alerts are keyed by target, kind and due time, so running the plan twice (two scheduler
//! nodes, a restart) raises nothing twice, and a due time that moves earns fresh alerts.

use tandem_proto::SlaTarget;

use super::MINUTE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    Warning,
    Breach,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Warning => "warning",
            AlertKind::Breach => "breach",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Alert {
    pub target: SlaTarget,
    pub kind: AlertKind,
    pub due: i64,
}

/// What to raise now and when the ticket next needs a look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub raise: Vec<Alert>,
    pub next_check: Option<i64>,
}

/// Plans alerts for `dues` given those already `raised`. A breach makes its warning moot (a
/// scheduler that was down does not send both at once).
pub fn plan(dues: &[(SlaTarget, i64)], warn_before_minutes: i64, raised: &[Alert], now: i64) -> Plan {
    let mut raise = Vec::new();
    let mut next_check: Option<i64> = None;
    let mut later = |at: i64| next_check = Some(next_check.map_or(at, |n| n.min(at)));
    for &(target, due) in dues {
        let has = |kind| raised.iter().any(|a| a.target == target && a.kind == kind && a.due == due);
        let warn_at = due - warn_before_minutes * MINUTE;
        if now >= due {
            if !has(AlertKind::Breach) {
                raise.push(Alert { target, kind: AlertKind::Breach, due });
            }
        } else {
            if warn_before_minutes > 0 && now >= warn_at && !has(AlertKind::Warning) {
                raise.push(Alert { target, kind: AlertKind::Warning, due });
            }
            later(if warn_before_minutes > 0 && now < warn_at { warn_at } else { due });
        }
    }
    Plan { raise, next_check }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUE: i64 = 100 * MINUTE;

    #[test]
    fn warning_then_breach_then_nothing() {
        let dues = [(SlaTarget::FirstResponse, DUE)];
        let early = plan(&dues, 10, &[], 0);
        assert_eq!(early, Plan { raise: vec![], next_check: Some(90 * MINUTE) });
        let warn = plan(&dues, 10, &[], 90 * MINUTE);
        let warning = Alert { target: SlaTarget::FirstResponse, kind: AlertKind::Warning, due: DUE };
        assert_eq!(warn, Plan { raise: vec![warning], next_check: Some(DUE) });
        let breach = plan(&dues, 10, &[warning], DUE);
        let breached = Alert { kind: AlertKind::Breach, ..warning };
        assert_eq!(breach, Plan { raise: vec![breached], next_check: None });
        assert_eq!(plan(&dues, 10, &[warning, breached], DUE + MINUTE), Plan { raise: vec![], next_check: None });
    }

    #[test]
    fn a_late_scheduler_raises_only_the_breach_and_moved_dues_alert_again() {
        let dues = [(SlaTarget::Resolution, DUE)];
        let late = plan(&dues, 10, &[], 5 * DUE);
        assert_eq!(late.raise.len(), 1);
        assert_eq!(late.raise[0].kind, AlertKind::Breach);
        let old = Alert { target: SlaTarget::Resolution, kind: AlertKind::Breach, due: DUE / 2 };
        assert_eq!(plan(&dues, 0, &[old], DUE).raise, vec![Alert { due: DUE, ..old }]);
    }
}
