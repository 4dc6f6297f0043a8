//! Demo data: two inboxes, three teams, one user per role (plus a second agent) and 52
//! tickets in English, Russian, Polish and French across every status, written through the
//! same store operations the API uses, on a clock that walks through the past three weeks.

use std::sync::Arc;

use anyhow::Context;
use chrono::Duration;
use tandem_domain::{Actor, Clock, FixedClock, SystemClock};
use tandem_proto::{
    AssignTicket, ContactInput, CreateInbox, CreateTeam, CreateTemplate, CreateTicket, CreateUser, MessageKind, PostMessage,
    Priority, Role, TicketStatus, UpdateTicket,
};
use tandem_store::{Group, Store, mail::OutboxResult};

use crate::config::Config;

pub const DEMO_PASSWORD: &str = "tandem-demo";

pub const DEMO_USERS: &[(&str, &str, Role, &str)] = &[
    ("admin@demo.test", "Alex Admin", Role::Admin, "en"),
    ("supervisor@demo.test", "Sofia Supervisor", Role::Supervisor, "fr"),
    ("agent1@demo.test", "Artem Agent", Role::Agent, "ru"),
    ("agent2@demo.test", "Agnieszka Agent", Role::Agent, "pl"),
    ("observer@demo.test", "Olivia Observer", Role::Observer, "en"),
];

/// One customer request, in one language.
struct Scenario {
    language: &'static str,
    sales: bool,
    subject: &'static str,
    body: &'static str,
    tags: &'static [&'static str],
    priority: Priority,
}

const SCENARIOS: &[Scenario] = &[
    Scenario { language: "en", sales: false, subject: "Cannot log in after password reset", body: "Hi,\n\nI reset my password this morning but the login page keeps saying my credentials are wrong. I tried two browsers.\n\nCan you help?", tags: &["login"], priority: Priority::High },
    Scenario { language: "en", sales: false, subject: "Invoice #4471 shows the wrong VAT number", body: "Hello,\n\nour VAT number on invoice #4471 is GB123456789, not GB987654321. Could you reissue it? Our accountant needs it by Friday.", tags: &["billing", "vat"], priority: Priority::Normal },
    Scenario { language: "en", sales: false, subject: "Webhook stopped firing yesterday", body: "Since yesterday 14:00 UTC our endpoint receives no webhook calls. Nothing changed on our side. Is there an outage?", tags: &["integration", "webhook"], priority: Priority::Urgent },
    Scenario { language: "en", sales: true, subject: "Quote for 40 seats, annual billing", body: "Hi there,\n\nwe are evaluating Tandem for our support team of 40 people. Could you send a quote for annual billing?", tags: &["sales", "quote"], priority: Priority::Normal },
    Scenario { language: "ru", sales: false, subject: "Не приходит письмо для сброса пароля", body: "Здравствуйте!\n\nПытаюсь сбросить пароль, но письмо так и не пришло. Проверил папку «Спам» — пусто. Подскажите, что делать?", tags: &["login", "ru"], priority: Priority::High },
    Scenario { language: "ru", sales: false, subject: "Вопрос по счёту за октябрь", body: "Добрый день! В счёте за октябрь указано 12 пользователей, а у нас активно только 9. Можно пересчитать?", tags: &["billing", "ru"], priority: Priority::Normal },
    Scenario { language: "ru", sales: true, subject: "Хотим перейти на годовой тариф", body: "Здравствуйте, мы хотели бы перейти с помесячной оплаты на годовую. Какая будет скидка для 25 сотрудников?", tags: &["sales", "ru"], priority: Priority::Low },
    Scenario { language: "pl", sales: false, subject: "Nie mogę zalogować się do panelu", body: "Dzień dobry,\n\nod wczoraj nie mogę zalogować się do panelu administracyjnego. Pojawia się komunikat o błędzie 500. Proszę o pomoc.", tags: &["login", "pl"], priority: Priority::High },
    Scenario { language: "pl", sales: false, subject: "Prośba o fakturę korygującą", body: "Witam, na fakturze za październik jest błędny adres firmy (ul. Długa 5 zamiast ul. Krótka 7). Proszę o fakturę korygującą.", tags: &["billing", "pl"], priority: Priority::Normal },
    Scenario { language: "pl", sales: true, subject: "Pytanie o wdrożenie dla 25 osób", body: "Dzień dobry, interesuje nas wdrożenie Tandem dla zespołu 25 osób. Czy oferujecie szkolenie w języku polskim?", tags: &["sales", "pl"], priority: Priority::Normal },
    Scenario { language: "fr", sales: false, subject: "Impossible de télécharger la facture", body: "Bonjour,\n\nle bouton « Télécharger la facture » ne fait rien dans mon espace client. Pouvez-vous m'envoyer la facture de novembre ?\n\nMerci d'avance.", tags: &["billing", "fr"], priority: Priority::Normal },
    Scenario { language: "fr", sales: false, subject: "Problème de synchronisation du calendrier", body: "Bonjour, depuis la mise à jour, les rendez-vous ne se synchronisent plus avec notre agenda partagé. Est-ce un problème connu ?", tags: &["integration", "fr"], priority: Priority::High },
    Scenario { language: "fr", sales: true, subject: "Demande de démonstration pour notre équipe", body: "Bonjour, nous aimerions organiser une démonstration pour notre équipe support (12 personnes) la semaine prochaine.", tags: &["sales", "demo", "fr"], priority: Priority::Normal },
];

const CONTACTS: &[(&str, &str, &str)] = &[
    ("en", "Emma Clarke", "emma.clarke@northwind.example"),
    ("en", "James Porter", "james.porter@contoso.example"),
    ("ru", "Иван Петров", "ivan.petrov@stroymash.example"),
    ("ru", "Ольга Смирнова", "olga.smirnova@yandex.ru"),
    ("pl", "Anna Kowalska", "anna.kowalska@wp.pl"),
    ("pl", "Piotr Nowak", "piotr.nowak@budowa.example"),
    ("fr", "Camille Dubois", "camille.dubois@orange.fr"),
    ("fr", "Lucas Martin", "lucas.martin@atelier.example"),
];

fn agent_reply(language: &str) -> &'static str {
    match language {
        "ru" => "Здравствуйте!\n\nСпасибо за обращение. Мы проверили вашу учётную запись и всё исправили. Попробуйте, пожалуйста, ещё раз и напишите, если проблема останется.",
        "pl" => "Dzień dobry,\n\ndziękujemy za zgłoszenie. Sprawdziliśmy konto i wprowadziliśmy poprawkę. Proszę spróbować ponownie i dać znać, czy wszystko działa.",
        "fr" => "Bonjour,\n\nmerci pour votre message. Nous avons vérifié votre compte et corrigé le problème. Pouvez-vous réessayer et nous dire si tout fonctionne ?",
        _ => "Hi,\n\nthanks for reaching out. We have looked into your account and fixed the problem. Could you try again and let us know whether it works now?",
    }
}

fn customer_follow_up(language: &str) -> &'static str {
    match language {
        "ru" => "Спасибо, теперь всё работает!",
        "pl" => "Dziękuję, teraz działa!",
        "fr" => "Merci, tout fonctionne maintenant !",
        _ => "Thanks, it works now!",
    }
}

const STATUS_CYCLE: &[TicketStatus] = &[
    TicketStatus::New,
    TicketStatus::Open,
    TicketStatus::Pending,
    TicketStatus::Open,
    TicketStatus::Solved,
    TicketStatus::OnHold,
    TicketStatus::Closed,
    TicketStatus::New,
    TicketStatus::Pending,
    TicketStatus::Solved,
    TicketStatus::Open,
    TicketStatus::Spam,
    TicketStatus::Closed,
];

pub const DEMO_TICKETS: usize = 52;

/// Seeds the demo when the database has no users yet; prints the logins. Returns whether it seeded.
pub async fn seed_if_empty(config: &Config, store: &Store) -> anyhow::Result<bool> {
    if store.has_users().await? {
        if store.user_by_email(DEMO_USERS[0].0).await.is_ok() {
            print_logins();
        }
        return Ok(false);
    }
    let start = SystemClock.now() - Duration::days(27);
    let clock = Arc::new(FixedClock::new(start));
    // The same database, on a clock that walks through the past three weeks.
    let demo = Store::open(&config.database_url(), &config.data_dir, clock.clone()).await.context("opening the database for demo data")?;
    seed(&demo, &clock).await.context("seeding demo data")?;
    print_logins();
    Ok(true)
}

fn print_logins() {
    println!("Demo logins (password `{DEMO_PASSWORD}`):");
    for (email, name, role, _) in DEMO_USERS {
        println!("  {email:<24} {:<11} {name}", role.as_str());
    }
}

async fn seed(store: &Store, clock: &FixedClock) -> anyhow::Result<()> {
    let start = clock.now();
    let support = store.create_inbox(None, CreateInbox { name: "Support".into(), address: "support@demo.test".into() }).await?;
    let sales = store.create_inbox(None, CreateInbox { name: "Sales".into(), address: "sales@demo.test".into() }).await?;
    let tech = store.create_team(None, CreateTeam { name: "Tech support".into(), description: "Logins, integrations, bugs".into() }).await?;
    let sales_team = store.create_team(None, CreateTeam { name: "Sales".into(), description: "Quotes, plans, demos".into() }).await?;
    store.create_team(None, CreateTeam { name: "Marketing".into(), description: "Campaigns and newsletters".into() }).await?;
    let mut users = Vec::new();
    for (email, name, role, language) in DEMO_USERS {
        let skills = match *language {
            "en" => vec!["billing".to_owned()],
            other => vec![other.to_owned()],
        };
        let user = store
            .create_user(None, CreateUser {
                email: (*email).into(),
                display_name: (*name).into(),
                password: DEMO_PASSWORD.into(),
                role: *role,
                language: Some((*language).into()),
                skills,
            })
            .await?;
        users.push(user);
    }
    let [admin, supervisor, agent1, agent2, observer] = <[_; 5]>::try_from(users).map_err(|_| anyhow::anyhow!("five demo users"))?;
    for user in [&admin, &supervisor, &agent1, &agent2, &observer] {
        store.set_membership(None, Group::Inbox, support.id, user.id, true).await?;
    }
    for user in [&admin, &supervisor, &agent2, &observer] {
        store.set_membership(None, Group::Inbox, sales.id, user.id, true).await?;
    }
    for user in [&agent1, &agent2] {
        store.set_membership(None, Group::Team, tech.id, user.id, true).await?;
    }
    store.set_membership(None, Group::Team, sales_team.id, agent2.id, true).await?;
    for (name, subject, body) in [
        ("Greeting", "Re: {{ ticket.subject }}", "Hello {{ contact.first_name }},\n\nthank you for contacting {{ inbox.name }}.\n\nBest regards,\n{{ agent.name }}"),
        ("Password reset steps", "Resetting your password", "Hi {{ contact.first_name }},\n\n1. Open the sign-in page\n2. Click \"Forgot password\"\n3. Follow the link we email you\n\n{{ agent.name }}"),
        ("Приветствие", "Re: {{ ticket.subject }}", "Здравствуйте, {{ contact.first_name }}!\n\nСпасибо за обращение в {{ inbox.name }}.\n\nС уважением,\n{{ agent.name }}"),
        ("Clôture", "Votre demande #{{ ticket.number }}", "Bonjour {{ contact.first_name }},\n\nnous clôturons votre demande #{{ ticket.number }}. N'hésitez pas à nous répondre si besoin.\n\n{{ agent.name }}"),
    ] {
        store.create_template(None, CreateTemplate { name: name.into(), subject: subject.into(), body: body.into() }).await?;
    }
    // Service levels: Support in Warsaw office hours, 4 h (high: 1 h) to a first answer.
    let admin_actor = store.actor_by_id(admin.id).await?.ok_or_else(|| anyhow::anyhow!("demo admin missing"))?;
    let office = tandem_proto::SaveCalendar {
        name: "Warsaw office".into(),
        time_zone: "Europe/Warsaw".into(),
        hours: tandem_domain::sla::calendar::weekdays("09:00", "17:00"),
        holidays: vec![],
    };
    let office = store.save_calendar(&admin_actor, None, office).await?;
    for (name, position, priority, first, resolution) in [("High priority", 0, Some(Priority::High), 60, 8 * 60), ("Support", 1, None, 240, 24 * 60)] {
        let policy = tandem_proto::SaveSlaPolicy {
            name: name.into(),
            position,
            enabled: true,
            inbox_id: Some(support.id),
            priority,
            tag: None,
            company: None,
            first_response_minutes: Some(first),
            next_response_minutes: Some(240),
            resolution_minutes: Some(resolution),
            calendar_id: Some(office.id),
            warn_before_minutes: 30,
            escalation: tandem_proto::SlaEscalation { notify: true, raise_priority: false, team_id: None },
        };
        store.save_sla_policy(&admin_actor, None, policy).await?;
    }
    let actor = |user: &tandem_proto::User| {
        let store = store.clone();
        let id = user.id;
        async move { store.actor_by_id(id).await?.ok_or_else(|| anyhow::anyhow!("demo user {id} missing")) }
    };
    let sup = actor(&supervisor).await?;
    let agents: [Actor; 3] = [actor(&agent1).await?, actor(&agent2).await?, sup.clone()];
    for i in 0..DEMO_TICKETS {
        // Twelve hours per ticket; everything a ticket goes through fits before the next one.
        clock.set(start + Duration::hours(12 * i as i64 + 1) + Duration::minutes((i as i64 * 37) % 60));
        let scenario = &SCENARIOS[i % SCENARIOS.len()];
        let contacts: Vec<_> = CONTACTS.iter().filter(|c| c.0 == scenario.language).collect();
        let (_, name, email) = contacts[(i / SCENARIOS.len()) % contacts.len()];
        let inbox = if scenario.sales { &sales } else { &support };
        let created = store
            .create_ticket(&sup, CreateTicket {
                inbox_id: inbox.id,
                subject: scenario.subject.into(),
                body_text: scenario.body.into(),
                body_html: None,
                contact: ContactInput { email: (*email).into(), name: Some((*name).into()) },
                priority: Some(scenario.priority),
                tags: scenario.tags.iter().map(|t| (*t).to_owned()).collect(),
                category: Some(if scenario.sales { "sales" } else { "support" }.into()),
                language: Some(scenario.language.into()),
            })
            .await?;
        let number = created.ticket.number;
        let status = STATUS_CYCLE[i % STATUS_CYCLE.len()];
        if status == TicketStatus::New {
            continue;
        }
        // Agent 1 works only the support inbox; sales tickets go to agent 2 or the supervisor.
        let worker = if scenario.sales { &agents[1 + i % 2] } else { &agents[i % 3] };
        clock.advance(Duration::minutes(20 + (i as i64 * 13) % 200));
        let mut ticket = store.assign_ticket(&sup, number, AssignTicket { assignee_id: Some(worker.user_id), team_id: Some(Some(if scenario.sales { sales_team.id } else { tech.id })), version: None }).await?;
        if status == TicketStatus::Spam {
            store.update_ticket(&sup, number, UpdateTicket { version: ticket.version, status: Some(status), ..Default::default() }).await?;
            continue;
        }
        if i % 4 == 1 {
            clock.advance(Duration::minutes(5));
            let note = match scenario.language {
                "ru" => "Клиент на тарифе Business, проверить лимиты.",
                "pl" => "Klient na planie Business, sprawdzić limity.",
                "fr" => "Client au forfait Business, vérifier les limites.",
                _ => "Customer is on the Business plan, check their limits.",
            };
            ticket = store.post_message(worker, number, MessageKind::Note, PostMessage { body_text: note.into(), seen_version: Some(ticket.version), ..Default::default() }).await?.ticket;
        }
        clock.advance(Duration::minutes(10 + (i as i64 * 7) % 50));
        let set_status = match status {
            TicketStatus::Open => None,
            TicketStatus::Closed => Some(TicketStatus::Solved),
            other => Some(other),
        };
        let posted = store
            .post_message(worker, number, MessageKind::Reply, PostMessage { body_text: agent_reply(scenario.language).into(), seen_version: Some(ticket.version), set_status, ..Default::default() })
            .await?;
        delivered_in_the_past(store).await?;
        if status == TicketStatus::Closed {
            clock.advance(Duration::hours(6));
            store.update_ticket(&sup, number, UpdateTicket { version: posted.ticket.version, status: Some(TicketStatus::Closed), ..Default::default() }).await?;
        } else if status == TicketStatus::Solved && i % 2 == 0 {
            // The customer thanks us and the ticket stays solved after a last look.
            clock.advance(Duration::hours(2));
            store.add_customer_message(number, customer_follow_up(scenario.language)).await?;
            let current = store.get_ticket(&sup, number).await?.ticket;
            store.update_ticket(&sup, number, UpdateTicket { version: current.version, status: Some(TicketStatus::Solved), ..Default::default() }).await?;
        }
    }
    Ok(())
}

/// The demo's history includes its mail going out: the replies and notification mails queued
/// so far are recorded as delivered, at the demo clock's time, as the sender records a
/// delivery. (The demo inboxes have no SMTP: otherwise the first start's sender would mark
/// every past reply of the demo "not delivered".)
async fn delivered_in_the_past(store: &Store) -> anyhow::Result<()> {
    for job in store.claim_outbox(100).await? {
        store.finish_outbox(&job, OutboxResult::Sent, 30).await?;
    }
    for mail in store.claim_notification_mail(100).await? {
        store.finish_notification_mail(&mail, OutboxResult::Sent, 30).await?;
    }
    Ok(())
}
