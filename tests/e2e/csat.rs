//! The public satisfaction page and its JSON twin, over HTTP: no account, the signed link is
//! the credential; hostile input is escaped; forged links get a plain refusal.

use serde_json::{Value, json};
use tandem_store::{backend_tests, testing::Backend};
use tandem_tests::TestServer;

backend_tests! {
    customers_rate_a_solved_ticket_through_its_link,
}

async fn customers_rate_a_solved_ticket_through_its_link(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.login(&server.desk.admin.email).await;
    let agent = server.token_for(&server.desk.agent).await;
    let inbox = server.desk.inbox_a.id;
    let (s, b) = admin.patch(&format!("/api/v1/inboxes/{inbox}/mail"), &json!({ "csat_enabled": true })).await;
    assert_eq!((s, b["csat_enabled"].as_bool()), (200, Some(true)), "{b}");

    let (s, created) = agent.post("/api/v1/tickets", &json!({
        "inbox_id": inbox, "subject": "<img src=x onerror=alert(1)> Réclamation", "language": "fr",
        "body_text": "Bonjour", "contact": { "email": "claire@atelier-durand.fr" }
    })).await;
    assert_eq!(s, 201, "{created}");
    let number = created["ticket"]["number"].as_i64().expect("number");
    let version = created["ticket"]["version"].as_i64().expect("version");
    let (s, posted) = agent.post(&format!("/api/v1/tickets/{number}/replies"), &json!({
        "body_text": "C'est réglé.", "seen_version": version, "set_status": "solved"
    })).await;
    assert_eq!(s, 201, "{posted}");
    let body = posted["message"]["body_text"].as_str().expect("body");
    assert!(body.contains("Comment avons-nous fait"), "the invitation is in the ticket's language: {body}");
    let start = body.find("/csat/").expect("link") + "/csat/".len();
    let token: String = body[start..].chars().take_while(char::is_ascii_hexdigit).collect();

    // The page: French, the subject escaped, locked down.
    let http = reqwest::Client::new();
    let page = http.get(server.url(&format!("/csat/{token}"))).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"), "{csp}");
    let html = page.text().await.expect("html");
    assert!(html.contains("lang=\"fr\"") && html.contains("Comment évaluez-vous"), "{html}");
    assert!(html.contains("&lt;img") && !html.contains("<img"), "the subject must be escaped: {html}");

    // The form: a rating and a hostile comment; the thank-you page shows it escaped.
    let post = |form: Vec<(&'static str, &'static str)>| {
        let request = http.post(server.url(&format!("/csat/{token}"))).form(&form);
        async move {
            let response = request.send().await.expect("post");
            (response.status().as_u16(), response.text().await.expect("html"))
        }
    };
    let (s, html) = post(vec![("rating", "good"), ("comment", "<script>alert(1)</script> merci")]).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("id=\"thanks\"") && html.contains("&lt;script&gt;") && !html.contains("<script>"), "{html}");
    assert!(html.contains("value=\"good\" required checked"), "{html}");
    let (s, html) = post(vec![("comment", "no rating")]).await;
    assert_eq!(s, 422, "{html}");
    let (s, _) = post(vec![("rating", "excellent")]).await;
    assert_eq!(s, 422);

    // The JSON twin changes the rating; the ticket shows it to the team.
    let anon = server.anonymous();
    let (s, form) = anon.post(&format!("/api/v1/csat/{token}"), &json!({ "rating": "okay" })).await;
    assert_eq!((s, form["current"]["rating"].as_str()), (200, Some("okay")), "{form}");
    let (_, detail) = agent.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(detail["satisfaction"]["rating"], "okay", "{detail}");
    assert!(detail["events"].as_array().expect("events").iter().any(|e| e["kind"] == "csat.rated"));

    // Forged or unknown links: a plain refusal, never a 500.
    let forged = format!("{}{}", &token[..token.len() - 1], if token.ends_with('0') { '1' } else { '0' });
    for bad in [forged.as_str(), "deadbeef", "%00", "..%2F..%2Fetc"] {
        let page = http.get(server.url(&format!("/csat/{bad}"))).send().await.expect("page");
        assert_eq!(page.status().as_u16(), 404, "{bad}");
        let (s, b): (u16, Value) = anon.get(&format!("/api/v1/csat/{bad}")).await;
        assert_eq!((s, b["error"]["code"].as_str()), (404, Some("not_found")), "{bad}: {b}");
    }
    let (s, b) = anon.post(&format!("/api/v1/csat/{token}"), &json!({ "rating": "good", "stars": 5 })).await;
    assert_eq!(s, 422, "{b}");
    let (s, b) = anon.post(&format!("/api/v1/csat/{token}"), &json!({ "score": 5 })).await;
    assert_eq!(s, 422, "a score on a good/okay/bad inbox: {b}");

    // On five points: the page offers 1 to 5; a score is kept with the good/okay/bad it means.
    let (s, b) = admin.patch(&format!("/api/v1/inboxes/{inbox}/mail"), &json!({ "csat_scale": "five" })).await;
    assert_eq!((s, b["csat_scale"].as_str()), (200, Some("five")), "{b}");
    let html = http.get(server.url(&format!("/csat/{token}"))).send().await.expect("page").text().await.expect("html");
    assert_eq!(html.matches("name=\"score\"").count(), 5, "{html}");
    assert!(html.contains("1 — très mauvais"), "{html}");
    let (s, html) = post(vec![("score", "4")]).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("value=\"4\" required checked"), "{html}");
    let (s, form) = anon.post(&format!("/api/v1/csat/{token}"), &json!({ "score": 2 })).await;
    assert_eq!((s, form["current"]["rating"].as_str(), form["current"]["score"].as_i64(), form["scale"].as_str()), (200, Some("bad"), Some(2), Some("five")), "{form}");
    for bad in [json!({ "score": 7 }), json!({ "score": 0 }), json!({ "rating": "good", "score": 5 }), json!({})] {
        let (s, b) = anon.post(&format!("/api/v1/csat/{token}"), &bad).await;
        assert_eq!(s, 422, "{bad}: {b}");
    }
    let (_, detail) = agent.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!((detail["satisfaction"]["rating"].as_str(), detail["satisfaction"]["score"].as_i64()), (Some("bad"), Some(2)), "{detail}");
}
