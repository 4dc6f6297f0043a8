//! A reply's copies: who besides the ticket's contact got it (Cc) and blind copies (Bcc),
//! as JSON lists of `{email, name}`.

const UP: &str = "ALTER TABLE messages ADD COLUMN cc_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN bcc_json TEXT NOT NULL DEFAULT '[]'";

const DOWN: &str = "ALTER TABLE messages DROP COLUMN bcc_json; ALTER TABLE messages DROP COLUMN cc_json";

super::ddl_migration!();
