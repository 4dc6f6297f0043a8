//! Real mail servers for the tests, started on 127.0.0.1 in a temporary directory: Dovecot
//! (Debian's `dovecot-imapd`) serving test users' Maildirs over IMAP, and an SMTP server
//! (aiosmtpd from Debian's `python3-aiosmtpd`, `tests/support/smtp_sink.py`) delivering into
//! those Maildirs. `./x test` installs both packages.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The test users and their password.
pub const USERS: [&str; 3] = ["support", "customer", "sales"];
pub const MAIL_PASSWORD: &str = "mail-secret-1";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn wait_for_port(port: u16, what: &str, log: &Path) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    panic!("{what} did not start listening on 127.0.0.1:{port}\n{log}");
}

/// Dovecot and the SMTP server. Both stop when dropped.
pub struct MailServers {
    pub dir: tempfile::TempDir,
    pub imap_port: u16,
    pub smtp_port: u16,
    dovecot: Option<Child>,
    smtp: Option<Child>,
}

impl std::fmt::Debug for MailServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailServers").field("imap_port", &self.imap_port).field("smtp_port", &self.smtp_port).finish_non_exhaustive()
    }
}

impl MailServers {
    pub fn start() -> MailServers {
        let dir = tempfile::Builder::new().prefix("tandem-mail-").tempdir().expect("temp dir");
        let root = dir.path();
        let mail = root.join("mail");
        for user in USERS {
            for sub in ["tmp", "new", "cur"] {
                std::fs::create_dir_all(mail.join(user).join("Maildir").join(sub)).expect("maildir");
            }
        }
        for d in ["run", "state"] {
            std::fs::create_dir_all(root.join(d)).expect("dovecot dirs");
        }
        let users: String = USERS.iter().map(|u| format!("{u}:{{PLAIN}}{MAIL_PASSWORD}::::::\n")).collect();
        std::fs::write(root.join("users"), users).expect("users file");
        let root_mode = is_root();
        // As root, Dovecot's mail processes run as the `dovecot` user (never uid 0) and the
        // Maildirs are opened up so the SMTP server (root) and Dovecot can both write them.
        // Otherwise Dovecot runs rootless, as the current user.
        let (uid, gid, internal, login) = if root_mode {
            ("dovecot".to_owned(), "dovecot".to_owned(), "dovecot", "dovenull")
        } else {
            let id = |flag: &str| Command::new("id").arg(flag).output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).expect("id");
            (id("-u"), id("-g"), "", "")
        };
        if root_mode {
            Command::new("chmod").args(["-R", "a+rwX"]).arg(root).status().expect("chmod");
        }
        let imap_port = free_port();
        let users_internal = if root_mode {
            format!("default_internal_user = {internal}\ndefault_internal_group = {internal}\ndefault_login_user = {login}\n")
        } else {
            let me = Command::new("id").arg("-un").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).expect("id -un");
            format!("default_internal_user = {me}\ndefault_internal_group = {me}\ndefault_login_user = {me}\n")
        };
        let conf = format!(
            "base_dir = {root}/run\nstate_dir = {root}/state\nlog_path = {root}/dovecot.log\ninfo_log_path = {root}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             mail_location = maildir:{root}/mail/%n/Maildir\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n{users_internal}\
             mail_privileged_group =\nmaildir_very_dirty_syncs = no\nimap_idle_notify_interval = 1 secs\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%n {root}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={root}/mail/%n\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap_port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\nservice auth {{\n  unix_listener auth-userdb {{\n    mode = 0666\n  }}\n}}\n",
            root = root.display()
        );
        std::fs::write(root.join("dovecot.conf"), conf).expect("dovecot.conf");
        let smtp_port = free_port();
        let mut servers = MailServers { dir, imap_port, smtp_port, dovecot: None, smtp: None };
        servers.start_dovecot();
        servers.start_smtp();
        servers
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn start_dovecot(&mut self) {
        let root = self.root().to_owned();
        let child = Command::new("/usr/sbin/dovecot")
            .args(["-F", "-c"])
            .arg(root.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(root.join("dovecot.stderr")).expect("stderr file")))
            .spawn()
            .expect("start dovecot (apt-get install dovecot-imapd; ./x test installs it)");
        self.dovecot = Some(child);
        wait_for_port(self.imap_port, "Dovecot", &root.join("dovecot.log"));
    }

    pub fn stop_dovecot(&mut self) {
        if let Some(mut c) = self.dovecot.take() {
            // SIGTERM lets Dovecot stop its children; then wait for the master to exit.
            Command::new("kill").arg(c.id().to_string()).status().ok();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if c.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            c.kill().ok();
            c.wait().ok();
        }
    }

    pub fn start_smtp(&mut self) {
        let root = self.root().to_owned();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("support/smtp_sink.py");
        let child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(self.smtp_port.to_string())
            .arg(root.join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(root.join("smtp.stderr")).expect("stderr file")))
            .spawn()
            .expect("start the SMTP server (apt-get install python3-aiosmtpd; ./x test installs it)");
        self.smtp = Some(child);
        wait_for_port(self.smtp_port, "the SMTP server", &root.join("smtp.stderr"));
    }

    pub fn stop_smtp(&mut self) {
        if let Some(mut c) = self.smtp.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    pub fn maildir(&self, user: &str) -> PathBuf {
        self.root().join("mail").join(user).join("Maildir")
    }

    /// The IMAP account of `user`'s INBOX on this Dovecot (plain text on loopback), for
    /// `inbox_id`, leaving imported mail where it is.
    pub fn imap_account(&self, user: &str, inbox_id: i64) -> tandem_store::mail::ImapAccount {
        tandem_store::mail::ImapAccount {
            inbox_id,
            host: "127.0.0.1".into(),
            port: self.imap_port,
            tls: tandem_proto::TlsMode::None,
            user: user.into(),
            password: MAIL_PASSWORD.into(),
            folders: vec!["INBOX".into()],
            after_import: tandem_proto::AfterImport::Leave,
            move_to: None,
            existing_mail: tandem_proto::ExistingMail::All,
            recent_days: 14,
        }
    }

    /// Delivers a raw message into `user`'s INBOX the way an MTA would (Maildir `new/`).
    pub fn deliver(&self, user: &str, name: &str, raw: &[u8]) {
        self.deliver_arrived(user, name, raw, tandem_domain::Clock::now(&tandem_domain::SystemClock).into());
    }

    /// Delivers like [`MailServers::deliver`] a message that arrived at `arrived`: Dovecot takes
    /// a Maildir file's modification time as the message's arrival date (IMAP `INTERNALDATE`).
    pub fn deliver_arrived(&self, user: &str, name: &str, raw: &[u8], arrived: std::time::SystemTime) {
        let dir = self.maildir(user);
        let tmp = dir.join("tmp").join(name);
        std::fs::write(&tmp, raw).expect("write message");
        set_mode(&tmp);
        std::fs::File::options().write(true).open(&tmp).and_then(|f| f.set_modified(arrived)).expect("set the arrival time");
        std::fs::rename(&tmp, dir.join("new").join(name)).expect("deliver message");
    }

    /// Every message in `user`'s INBOX (new and cur), as raw bytes, sorted by file name.
    pub fn messages(&self, user: &str) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .flat_map(|sub| std::fs::read_dir(self.maildir(user).join(sub)).into_iter().flatten().flatten().map(|e| e.path()))
            .collect();
        files.sort();
        files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
    }

    pub fn dovecot_log(&self) -> String {
        std::fs::read_to_string(self.root().join("dovecot.log")).unwrap_or_default()
    }
}

fn set_mode(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).ok();
}

impl Drop for MailServers {
    fn drop(&mut self) {
        self.stop_smtp();
        self.stop_dovecot();
    }
}
