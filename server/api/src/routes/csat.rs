//! Customer satisfaction, without an account: the signed link from the reply that solved a
//! ticket opens a small page (`GET /csat/{token}`, server-rendered, works without
//! JavaScript) whose form rates the ticket (`POST /csat/{token}`); the same link changes the
//! rating until it expires. `GET`/`POST /api/v1/csat/{token}` are the JSON equivalents.

use axum::{
    Form,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tandem_domain::{DomainError, html::escape};
use tandem_proto::{CsatForm, CsatRating, CsatScale, ErrorBody, RateTicket};
use tandem_store::StoreError;

use crate::{
    error::ApiResult,
    extract::{Json, Path},
    state::AppState,
};

/// The page may only style itself and post its own form.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page's texts in the ticket's language.
struct Texts {
    lang: &'static str,
    title: &'static str,
    question: &'static str,
    good: &'static str,
    okay: &'static str,
    bad: &'static str,
    /// Under the five points of a five-point scale.
    scale: &'static str,
    comment: &'static str,
    send: &'static str,
    thanks: &'static str,
    change: &'static str,
    invalid: &'static str,
    expired: &'static str,
    too_long: &'static str,
}

fn texts(language: Option<&str>) -> Texts {
    match language.unwrap_or("en") {
        "ru" => Texts {
            lang: "ru",
            title: "Оценка ответа",
            question: "Как вы оцениваете наш ответ?",
            good: "Хорошо",
            okay: "Нормально",
            bad: "Плохо",
            scale: "1 — очень плохо, 5 — отлично",
            comment: "Комментарий (необязательно)",
            send: "Отправить",
            thanks: "Спасибо за оценку!",
            change: "Оценку можно изменить по этой же ссылке.",
            invalid: "Эта ссылка недействительна.",
            expired: "Срок действия этой ссылки истёк.",
            too_long: "Комментарий слишком длинный.",
        },
        "pl" => Texts {
            lang: "pl",
            title: "Ocena odpowiedzi",
            question: "Jak oceniasz naszą odpowiedź?",
            good: "Dobrze",
            okay: "Tak sobie",
            bad: "Źle",
            scale: "1 — bardzo źle, 5 — doskonale",
            comment: "Komentarz (opcjonalnie)",
            send: "Wyślij",
            thanks: "Dziękujemy za ocenę!",
            change: "Ocenę można zmienić tym samym linkiem.",
            invalid: "Ten link jest nieprawidłowy.",
            expired: "Ten link wygasł.",
            too_long: "Komentarz jest za długi.",
        },
        "fr" => Texts {
            lang: "fr",
            title: "Votre avis",
            question: "Comment évaluez-vous notre réponse ?",
            good: "Bien",
            okay: "Moyen",
            bad: "Mauvais",
            scale: "1 — très mauvais, 5 — excellent",
            comment: "Commentaire (facultatif)",
            send: "Envoyer",
            thanks: "Merci pour votre avis !",
            change: "Vous pouvez changer votre note avec ce même lien.",
            invalid: "Ce lien n'est pas valide.",
            expired: "Ce lien a expiré.",
            too_long: "Le commentaire est trop long.",
        },
        _ => Texts {
            lang: "en",
            title: "Your rating",
            question: "How would you rate our answer?",
            good: "Good",
            okay: "Okay",
            bad: "Bad",
            scale: "1 — very poor, 5 — excellent",
            comment: "Comment (optional)",
            send: "Send",
            thanks: "Thank you for your rating!",
            change: "You can change it with the same link.",
            invalid: "This link is not valid.",
            expired: "This link has expired.",
            too_long: "The comment is too long.",
        },
    }
}

fn page(status: StatusCode, t: &Texts, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1d2330}}\
         fieldset{{border:0;padding:0;display:flex;gap:.75rem;flex-wrap:wrap}}label.choice{{border:1px solid #d9dde4;border-radius:6px;padding:.5rem .9rem}}\
         textarea{{width:100%;min-height:6rem;font:inherit}}button{{font:inherit;padding:.5rem 1.2rem;background:#2356c9;color:#fff;border:0;border-radius:6px}}\
         .muted{{color:#5b6475}}.error{{color:#b3261e}}</style></head><body>{body}</body></html>",
        lang = t.lang,
        title = t.title,
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

fn form_page(status: StatusCode, form: &CsatForm, notice: Option<&str>, error: Option<&str>) -> Response {
    let t = texts(form.language.as_deref());
    let current = form.current.as_ref();
    let choice = |rating: CsatRating, label: &str| {
        let checked = if current.map(|c| c.rating) == Some(rating) { " checked" } else { "" };
        format!("<label class=\"choice\"><input type=\"radio\" name=\"rating\" value=\"{}\" required{checked}> {label}</label>", rating.as_str())
    };
    let comment = current.and_then(|c| c.comment.as_deref()).unwrap_or("");
    let choices = match form.scale {
        CsatScale::Three => format!("{}{}{}", choice(CsatRating::Good, t.good), choice(CsatRating::Okay, t.okay), choice(CsatRating::Bad, t.bad)),
        CsatScale::Five => {
            let points: String = (1..=5)
                .map(|n| {
                    let checked = if current.and_then(|c| c.score) == Some(n) { " checked" } else { "" };
                    format!("<label class=\"choice\"><input type=\"radio\" name=\"score\" value=\"{n}\" required{checked}> {n}</label>")
                })
                .collect();
            format!("{points}<p class=\"muted\">{}</p>", t.scale)
        }
    };
    let body = format!(
        "<h1>{title}</h1><p class=\"muted\">#{number} {subject}</p>{notice}{error}\
         <form method=\"post\"><p>{question}</p><fieldset>{choices}</fieldset>\
         <p><label for=\"comment\">{comment_label}</label><br><textarea id=\"comment\" name=\"comment\" maxlength=\"2000\">{comment}</textarea></p>\
         <p><button type=\"submit\">{send}</button></p></form>",
        title = t.title,
        number = form.ticket_number,
        subject = escape(&form.subject),
        notice = notice.map(|n| format!("<p id=\"thanks\"><strong>{n}</strong> {}</p>", t.change)).unwrap_or_default(),
        error = error.map(|e| format!("<p id=\"error\" class=\"error\">{e}</p>")).unwrap_or_default(),
        question = t.question,
        comment_label = t.comment,
        comment = escape(comment),
        send = t.send,
    );
    page(status, &t, &body)
}

/// The page for a link that cannot be used: one message for every forgery, another for expiry.
fn refusal(error: &StoreError) -> Response {
    let t = texts(None);
    match error {
        StoreError::NotFound(_) => page(StatusCode::NOT_FOUND, &t, &format!("<h1>{}</h1><p id=\"error\">{}</p>", t.title, t.invalid)),
        StoreError::Domain(DomainError::State(_)) => page(StatusCode::GONE, &t, &format!("<h1>{}</h1><p id=\"error\">{}</p>", t.title, t.expired)),
        other => {
            tracing::error!(error = %other, "satisfaction page failed");
            page(StatusCode::INTERNAL_SERVER_ERROR, &t, &format!("<h1>{}</h1>", t.title))
        }
    }
}

/// The public rating page.
pub async fn page_get(State(state): State<AppState>, axum::extract::Path(token): axum::extract::Path<String>) -> Response {
    match state.store.csat_form(&token).await {
        Ok(form) => form_page(StatusCode::OK, &form, None, None),
        Err(error) => refusal(&error),
    }
}

#[derive(Debug, Deserialize)]
pub struct RatingForm {
    rating: Option<String>,
    score: Option<String>,
    #[serde(default)]
    comment: String,
}

/// The public page's form: saves the rating and shows the page again with a thank-you.
pub async fn page_post(State(state): State<AppState>, axum::extract::Path(token): axum::extract::Path<String>, Form(input): Form<RatingForm>) -> Response {
    let form = match state.store.csat_form(&token).await {
        Ok(form) => form,
        Err(error) => return refusal(&error),
    };
    let t = texts(form.language.as_deref());
    let rating = input.rating.as_deref().and_then(|r| r.parse::<CsatRating>().ok());
    let score = input.score.as_deref().and_then(|s| s.trim().parse::<i64>().ok());
    if rating.is_none() && score.is_none() {
        return form_page(StatusCode::UNPROCESSABLE_ENTITY, &form, None, Some(t.question));
    }
    let comment = (!input.comment.trim().is_empty()).then_some(input.comment);
    match state.store.rate_ticket(&token, RateTicket { rating, score, comment }).await {
        Ok(saved) => form_page(StatusCode::OK, &saved, Some(t.thanks), None),
        Err(StoreError::Domain(DomainError::Validation { field, .. })) => {
            let why = if field.as_deref() == Some("comment") { t.too_long } else { t.question };
            form_page(StatusCode::UNPROCESSABLE_ENTITY, &form, None, Some(why))
        }
        Err(error) => refusal(&error),
    }
}

/// What a satisfaction link rates, and the rating so far. No credentials: the token is one.
#[utoipa::path(get, path = "/api/v1/csat/{token}", tag = "satisfaction", params(("token" = String, Path)), security(()),
    responses((status = 200, body = CsatForm), (status = 404, body = ErrorBody), (status = 409, description = "the link has expired", body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Json<CsatForm>> {
    Ok(Json(state.store.csat_form(&token).await?))
}

/// Rates the link's ticket, or changes the rating, until the link expires.
#[utoipa::path(post, path = "/api/v1/csat/{token}", tag = "satisfaction", params(("token" = String, Path)), request_body = RateTicket, security(()),
    responses((status = 200, body = CsatForm), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn rate(State(state): State<AppState>, Path(token): Path<String>, Json(input): Json<RateTicket>) -> ApiResult<Json<CsatForm>> {
    Ok(Json(state.store.rate_ticket(&token, input).await?))
}
