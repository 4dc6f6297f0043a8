//! Inboxes: create, members, and the mail channel settings with "test connection".
//!
//! Ids: `#inbox-list` (rows `.inbox-row`), `#new-inbox-name`, `#new-inbox-address`,
//! `#new-inbox-submit`, `#inbox-result`; per inbox `#mail-{id}` form with `.imap-host`,
//! `.imap-port`, `.imap-user`, `.imap-password`, `.imap-folders`, `.imap-after-import`,
//! `.imap-move-to`, `.imap-existing-mail`, `.imap-recent-days`, `.smtp-host`, `.smtp-port`,
//! `.test-imap`, `.test-smtp`, `.test-output`; members `.member-add`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_proto::{
    AddMember, AfterImport, ConnectionTest, CreateInbox, CsatScale, ExistingMail, ImapSettings, Inbox, MailSettings, TlsMode, UpdateImap,
    UpdateMailSettings, UpdateSmtp, UserRef,
};

use crate::admin::outcome;
use crate::api::{self, Method};
use crate::directory::use_directory;
use crate::i18n::{Msg, t, tf};
use crate::shell::use_current;

#[component]
pub fn Inboxes() -> impl IntoView {
    let current = use_current();
    let directory = use_directory();
    let inboxes = RwSignal::new(Vec::<Inbox>::new());
    let result = RwSignal::new(None::<(bool, String)>);
    let load = move || {
        spawn_local(async move {
            match api::get::<Vec<Inbox>>("/api/v1/inboxes", &[]).await {
                Ok(list) => {
                    directory.inboxes.set(list.clone());
                    inboxes.set(list);
                }
                Err(error) => result.set(Some((false, current.explain(Msg::LoadFailed, &error)))),
            }
        });
    };
    load();

    let name = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = CreateInbox { name: name.get_untracked().trim().into(), address: address.get_untracked().trim().into() };
        spawn_local(async move {
            match api::send_json::<_, Inbox>(Method::Post, "/api/v1/inboxes", &request).await {
                Ok(inbox) => {
                    result.set(Some((true, tf(Msg::InboxCreated, &[("name", &inbox.name)]))));
                    name.set(String::new());
                    address.set(String::new());
                    load();
                }
                Err(error) => result.set(Some((false, current.explain(Msg::SaveFailed, &error)))),
            }
        });
    };

    view! {
        <h1>{t(Msg::Inboxes)}</h1>
        {outcome(result, "inbox-result")}
        <div id="inbox-list">
            {move || inboxes.get().into_iter().map(|inbox| view! { <InboxCard inbox=inbox /> }).collect_view()}
        </div>
        <form class="card" on:submit=create>
            <h2>{t(Msg::NewInbox)}</h2>
            <label for="new-inbox-name">{t(Msg::Name)}</label>
            <input id="new-inbox-name" type="text" required bind:value=name />
            <label for="new-inbox-address">{t(Msg::Address)}</label>
            <input id="new-inbox-address" type="email" required bind:value=address />
            <button id="new-inbox-submit" type="submit">{t(Msg::Create)}</button>
        </form>
    }
}

#[component]
fn InboxCard(inbox: Inbox) -> impl IntoView {
    let current = use_current();
    let directory = use_directory();
    let id = inbox.id;
    let members = RwSignal::new(Vec::<UserRef>::new());
    let settings = RwSignal::new(None::<MailSettings>);
    let result = RwSignal::new(None::<(bool, String)>);
    let test_output = RwSignal::new(None::<ConnectionTest>);
    let load_members = move || {
        spawn_local(async move {
            if let Ok(list) = api::get::<Vec<UserRef>>(&format!("/api/v1/inboxes/{id}/members"), &[]).await {
                members.set(list);
            }
        });
    };
    load_members();
    spawn_local(async move {
        if let Ok(s) = api::get::<MailSettings>(&format!("/api/v1/inboxes/{id}/mail"), &[]).await {
            settings.set(Some(s));
        }
    });

    let add_member = move |ev: leptos::ev::Event| {
        let Ok(user_id) = event_target_value(&ev).parse::<i64>() else { return };
        spawn_local(async move {
            match api::send_empty_json(Method::Post, &format!("/api/v1/inboxes/{id}/members"), &AddMember { user_id }).await {
                Ok(()) => load_members(),
                Err(error) => result.set(Some((false, current.explain(Msg::SaveFailed, &error)))),
            }
        });
    };
    let remove_member = move |user_id: i64| {
        spawn_local(async move {
            match api::send_empty(Method::Delete, &format!("/api/v1/inboxes/{id}/members/{user_id}")).await {
                Ok(()) => load_members(),
                Err(error) => result.set(Some((false, current.explain(Msg::SaveFailed, &error)))),
            }
        });
    };
    let test = move |which: &'static str| {
        test_output.set(None);
        spawn_local(async move {
            match api::send_json::<_, ConnectionTest>(Method::Post, &format!("/api/v1/inboxes/{id}/mail/{which}"), &()).await {
                Ok(out) => test_output.set(Some(out)),
                Err(error) => result.set(Some((false, current.explain(Msg::TestFailed, &error)))),
            }
        });
    };

    view! {
        <section class="card inbox-row" data-id=id>
            <h2>{inbox.name.clone()}" "<span class="muted">{inbox.address.clone()}</span></h2>
            {outcome(result, "inbox-card-result")}
            <h3>{t(Msg::Members)}</h3>
            <ul class="plain chips">
                {move || members.get().into_iter().map(|m| {
                    let user_id = m.id;
                    view! { <li class="chip">{m.display_name}" "
                        <button type="button" class="link small" aria-label=t(Msg::Remove) on:click=move |_| remove_member(user_id)>"×"</button></li> }
                }).collect_view()}
            </ul>
            <label class="visually-hidden" for=format!("member-add-{id}")>{t(Msg::AddMember)}</label>
            <select id=format!("member-add-{id}") class="member-add" on:change=add_member>
                <option value="">{t(Msg::AddMember)}</option>
                {move || directory.users.get().into_iter().map(|u| view! { <option value=u.id.to_string()>{u.display_name}</option> }).collect_view()}
            </select>
            {move || settings.get().map(|s| view! { <MailForm id=id settings=s result=result /> })}
            <div class="row">
                <button type="button" class="secondary small test-imap" on:click=move |_| test("test-imap")>{t(Msg::TestImap)}</button>
                <button type="button" class="secondary small test-smtp" on:click=move |_| test("test-smtp")>{t(Msg::TestSmtp)}</button>
            </div>
            {move || test_output.get().map(|out| view! {
                <div class="test-output">
                    <p class=if out.ok { "notice" } else { "error" }>
                        {if out.ok { t(Msg::ConnectionOk) } else { t(Msg::ConnectionFailed) }}{format!(" ({} ms)", out.duration_ms)}
                    </p>
                    <pre class="mono small">{out.transcript.join("\n")}</pre>
                </div>
            })}
        </section>
    }
}

/// The connection fields IMAP and SMTP share, as signals for the form.
#[derive(Debug, Clone, Copy)]
struct ServerFields {
    enabled: RwSignal<bool>,
    host: RwSignal<String>,
    port: RwSignal<String>,
    tls: RwSignal<String>,
    user: RwSignal<String>,
    /// Write-only: empty keeps the stored password.
    password: RwSignal<String>,
    password_set: bool,
}

impl ServerFields {
    fn new(enabled: bool, host: &str, port: u16, tls: TlsMode, user: &str, password_set: bool) -> ServerFields {
        ServerFields {
            enabled: RwSignal::new(enabled),
            host: RwSignal::new(host.to_owned()),
            port: RwSignal::new(port.to_string()),
            tls: RwSignal::new(tls.as_str().to_owned()),
            user: RwSignal::new(user.to_owned()),
            password: RwSignal::new(String::new()),
            password_set,
        }
    }

    fn host(self) -> Option<String> {
        Some(self.host.get_untracked().trim().into())
    }

    fn port(self) -> Option<u16> {
        self.port.get_untracked().trim().parse().ok()
    }

    fn tls(self) -> Option<TlsMode> {
        self.tls.get_untracked().parse().ok()
    }

    fn user(self) -> Option<String> {
        Some(self.user.get_untracked().trim().into())
    }

    fn password(self) -> Option<String> {
        Some(self.password.get_untracked()).filter(|p| !p.is_empty())
    }

    /// The fieldset; `prefix` (`imap`, `smtp`) names the fields' classes.
    fn view(self, legend: &'static str, prefix: &'static str) -> impl IntoView {
        let class = move |name: &str| format!("{prefix}-{name}");
        let field = move |label: Msg, name: &str, kind: &'static str, value: RwSignal<String>| view! {
            <label>{t(label)}<input class=class(name) type=kind bind:value=value /></label>
        };
        let tls = self.tls;
        view! {
            <fieldset>
                <legend>{legend}</legend>
                <label class="check"><input type="checkbox" class=class("enabled") bind:checked=self.enabled />" "{t(Msg::Enabled)}</label>
                {field(Msg::Host, "host", "text", self.host)}
                {field(Msg::Port, "port", "number", self.port)}
                <label>{t(Msg::Security)}
                    <select class=class("tls") on:change=move |ev| tls.set(event_target_value(&ev))>
                        {TlsMode::ALL.iter().map(|m| view! { <option value=m.as_str() selected=m.as_str() == tls.get_untracked()>{m.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                {field(Msg::User, "user", "text", self.user)}
                <label>{t(Msg::Password)}
                    <input class=class("password") type="password" autocomplete="new-password" bind:value=self.password
                        placeholder=if self.password_set { t(Msg::PasswordKept) } else { "" } />
                </label>
            </fieldset>
        }
    }
}

/// What IMAP intake reads and what it does on the server, as signals for the form.
#[derive(Debug, Clone, Copy)]
struct ImportFields {
    /// Comma-separated.
    folders: RwSignal<String>,
    after_import: RwSignal<AfterImport>,
    move_to: RwSignal<String>,
    existing_mail: RwSignal<ExistingMail>,
    recent_days: RwSignal<String>,
}

impl ImportFields {
    fn new(imap: &ImapSettings) -> ImportFields {
        ImportFields {
            folders: RwSignal::new(imap.folders.join(", ")),
            after_import: RwSignal::new(imap.after_import),
            move_to: RwSignal::new(imap.move_to.clone().unwrap_or_default()),
            existing_mail: RwSignal::new(imap.existing_mail),
            recent_days: RwSignal::new(imap.recent_days.to_string()),
        }
    }

    /// Sets the request's import fields (an empty folder list is sent, and refused, as is).
    fn fill(self, update: &mut UpdateImap) {
        update.folders = Some(self.folders.get_untracked().split(',').map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()).collect());
        update.after_import = Some(self.after_import.get_untracked());
        update.move_to = Some(Some(self.move_to.get_untracked().trim().to_owned()).filter(|f| !f.is_empty()));
        update.existing_mail = Some(self.existing_mail.get_untracked());
        update.recent_days = self.recent_days.get_untracked().trim().parse().ok();
    }

    fn view(self) -> impl IntoView {
        let ImportFields { folders, after_import, move_to, existing_mail, recent_days } = self;
        let after_label = |a: AfterImport| match a {
            AfterImport::Seen => Msg::AfterImportSeen,
            AfterImport::Move => Msg::AfterImportMove,
            AfterImport::Leave => Msg::AfterImportLeave,
        };
        let existing_label = |e: ExistingMail| match e {
            ExistingMail::All => Msg::ExistingMailAll,
            ExistingMail::Recent => Msg::ExistingMailRecent,
            ExistingMail::None => Msg::ExistingMailNone,
        };
        view! {
            <fieldset>
                <legend>{t(Msg::ImapImport)}</legend>
                <label>{t(Msg::ImapFolders)}<input class="imap-folders" type="text" bind:value=folders /></label>
                <label>{t(Msg::AfterImport)}
                    <select class="imap-after-import" on:change=move |ev| {
                        if let Ok(a) = event_target_value(&ev).parse() { after_import.set(a); }
                    }>
                        {AfterImport::ALL.iter().map(|a| view! {
                            <option value=a.as_str() selected=*a == after_import.get_untracked()>{t(after_label(*a))}</option>
                        }).collect_view()}
                    </select>
                </label>
                <Show when=move || after_import.get() == AfterImport::Move>
                    <label>{t(Msg::MoveToFolder)}<input class="imap-move-to" type="text" bind:value=move_to /></label>
                </Show>
                <label>{t(Msg::ExistingMail)}
                    <select class="imap-existing-mail" on:change=move |ev| {
                        if let Ok(e) = event_target_value(&ev).parse() { existing_mail.set(e); }
                    }>
                        {ExistingMail::ALL.iter().map(|e| view! {
                            <option value=e.as_str() selected=*e == existing_mail.get_untracked()>{t(existing_label(*e))}</option>
                        }).collect_view()}
                    </select>
                </label>
                <Show when=move || existing_mail.get() == ExistingMail::Recent>
                    <label>{t(Msg::RecentDays)}<input class="imap-recent-days" type="number" min="1" max="3650" bind:value=recent_days /></label>
                </Show>
                <span class="muted small">{t(Msg::ExistingMailHint)}</span>
            </fieldset>
        }
    }
}

#[component]
fn MailForm(id: i64, settings: MailSettings, result: RwSignal<Option<(bool, String)>>) -> impl IntoView {
    let current = use_current();
    let (i, m) = (&settings.imap, &settings.smtp);
    let imap = ServerFields::new(i.enabled, &i.host, i.port, i.tls, &i.user, i.password_set);
    let import = ImportFields::new(i);
    let smtp = ServerFields::new(m.enabled, &m.host, m.port, m.tls, &m.user, m.password_set);
    let signature = RwSignal::new(settings.signature.clone());
    let from_name = RwSignal::new(settings.from_name_format.clone());
    let csat = RwSignal::new(settings.csat_enabled);
    let csat_scale = RwSignal::new(settings.csat_scale);
    let auto_solve = RwSignal::new(settings.auto_solve_after_days.map(|d| d.to_string()).unwrap_or_default());
    let aliases = RwSignal::new(settings.aliases.join(", "));

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut imap_update = UpdateImap {
            enabled: Some(imap.enabled.get_untracked()),
            host: imap.host(),
            port: imap.port(),
            tls: imap.tls(),
            user: imap.user(),
            password: imap.password(),
            ..UpdateImap::default()
        };
        import.fill(&mut imap_update);
        let request = UpdateMailSettings {
            aliases: Some(aliases.get_untracked().split(',').map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect()),
            from_name_format: Some(from_name.get_untracked()),
            signature: Some(signature.get_untracked()),
            csat_enabled: Some(csat.get_untracked()),
            csat_scale: Some(csat_scale.get_untracked()),
            auto_solve_after_days: Some(auto_solve.get_untracked().trim().parse().ok()),
            imap: Some(imap_update),
            smtp: Some(UpdateSmtp {
                enabled: Some(smtp.enabled.get_untracked()),
                host: smtp.host(),
                port: smtp.port(),
                tls: smtp.tls(),
                user: smtp.user(),
                password: smtp.password(),
            }),
        };
        spawn_local(async move {
            match api::send_json::<_, MailSettings>(Method::Patch, &format!("/api/v1/inboxes/{id}/mail"), &request).await {
                Ok(_) => {
                    imap.password.set(String::new());
                    smtp.password.set(String::new());
                    result.set(Some((true, t(Msg::Saved).to_owned())));
                }
                Err(error) => result.set(Some((false, current.explain(Msg::SaveFailed, &error)))),
            }
        });
    };
    view! {
        <form id=format!("mail-{id}") class="mail-settings" on:submit=save>
            {imap.view("IMAP", "imap")}
            {import.view()}
            {smtp.view("SMTP", "smtp")}
            <label>{t(Msg::Aliases)}<input class="aliases" type="text" bind:value=aliases /></label>
            <label>{t(Msg::FromNameFormat)}<input class="from-name" type="text" bind:value=from_name />
                <span class="muted small">{t(Msg::FromNameFormatHint)}</span></label>
            <label>{t(Msg::Signature)}<textarea class="signature" rows="3" prop:value=move || signature.get()
                on:input=move |ev| signature.set(event_target_value(&ev))></textarea></label>
            <label class="check"><input class="csat-enabled" type="checkbox" bind:checked=csat />{t(Msg::AskForRating)}</label>
            <label>{t(Msg::RatingScale)}
                <select class="csat-scale" on:change=move |ev| {
                    if let Ok(scale) = event_target_value(&ev).parse() { csat_scale.set(scale); }
                }>
                    <option value="three" selected=settings.csat_scale == CsatScale::Three>{t(Msg::RatingThree)}</option>
                    <option value="five" selected=settings.csat_scale == CsatScale::Five>{t(Msg::RatingFive)}</option>
                </select>
            </label>
            <label>{t(Msg::AutoSolveAfterDays)}<input class="auto-solve" type="number" min="1" max="365" bind:value=auto_solve /></label>
            <button type="submit" class="small">{t(Msg::SaveMailSettings)}</button>
        </form>
    }
}
