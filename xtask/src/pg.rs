//! A throwaway PostgreSQL cluster for the tests: a fresh data directory in a temp dir,
//! a free port on 127.0.0.1, no durability, and everything removed afterwards.
//!
//! Cleanup is done by a tiny "reaper" shell process that waits on a pipe from us: when
//! the pipe closes it stops the server and deletes the temp dir. The pipe closes when
//! `PgCluster` is dropped, but also when xtask dies from Ctrl-C, SIGTERM or SIGKILL,
//! which a `Drop` alone cannot handle (and installing signal handlers needs unsafe code,
//! which the workspace forbids). The server itself is detached by `pg_ctl` (setsid), so
//! it does not get the terminal's Ctrl-C and would otherwise outlive us.

use std::ffi::OsString;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Instant;

use crate::util;

/// Where Debian's postgresql-NN packages put their binaries.
const DEBIAN_PG_LIB: &str = "/usr/lib/postgresql";

#[derive(Debug)]
pub struct PgCluster {
    /// Superuser URL, e.g. `postgres://tandem@127.0.0.1:40123/postgres`.
    pub url: String,
    dir: PathBuf,
    reaper: Child,
    /// Dropping this closes the reaper's stdin, which triggers the cleanup.
    reaper_stdin: Option<ChildStdin>,
}

/// Stops the server (if `postmaster.pid` says one runs) and deletes the temp dir once stdin
/// closes. Args: $1 = temp dir, rest = the pg_ctl command (maybe behind `runuser`).
/// Signals are ignored so that Ctrl-C on the terminal cannot kill the reaper before it has
/// done its job.
const REAPER_SCRIPT: &str = r#"
trap '' INT TERM HUP QUIT
dir=$1; shift
read -r _ || true
if [ -f "$dir/data/postmaster.pid" ]; then
  "$@" -D "$dir/data" -m immediate -w stop >/dev/null || echo "pg: could not stop the server in $dir" >&2
fi
rm -rf "$dir" || echo "pg: could not remove $dir" >&2
"#;

impl PgCluster {
    pub fn start() -> Result<PgCluster, String> {
        let started = Instant::now();
        let (version, bin) = find_bin_dir(Path::new(DEBIAN_PG_LIB))?;
        // initdb and postgres refuse to run as root: then we run them as Debian's
        // `postgres` system user and give it the temp dir.
        let as_postgres = util::is_root()?;
        let dir = util::make_temp_dir("tandem-pg")?;

        // Start the reaper first: from here on, dropping `cluster` (also on an early `?`
        // return) cleans up.
        let pg_ctl = bin.join("pg_ctl");
        let mut reaper = Command::new("sh")
            .args(["-c", REAPER_SCRIPT, "tandem-pg-reaper"])
            .arg(&dir)
            .args(pg_argv(as_postgres, &pg_ctl))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start `sh` for the cleanup process: {e}"))?;
        let reaper_stdin = reaper.stdin.take();
        let mut cluster = PgCluster { url: String::new(), dir, reaper, reaper_stdin };

        if as_postgres {
            let (uid, gid) = postgres_ids()?;
            std::os::unix::fs::chown(&cluster.dir, Some(uid), Some(gid))
                .map_err(|e| format!("chown postgres {}: {e}", cluster.dir.display()))?;
        }
        let data = cluster.dir.join("data");
        let log = cluster.dir.join("postgres.log");

        let mut initdb = pg_cmd(as_postgres, &bin.join("initdb"));
        initdb.current_dir(&cluster.dir).arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "tandem",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]);
        util::output(&mut initdb)?;

        let port = util::free_port()?;
        // pg_ctl hands -o to a shell, hence the quotes around the socket directory.
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k '{}' -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            cluster.dir.display()
        );
        let mut start = pg_cmd(as_postgres, &pg_ctl);
        start.current_dir(&cluster.dir).arg("-D").arg(&data).arg("-l").arg(&log);
        start.args(["-w", "-t", "60", "-o", &options, "start"]);
        if let Err(e) = util::output(&mut start) {
            return Err(format!("{e}\nlast lines of {}:\n{}", log.display(), tail(&log, 2000)));
        }

        cluster.url = format!("postgres://tandem@127.0.0.1:{port}/postgres");
        let mut psql = Command::new(bin.join("psql"));
        psql.args(["-X", "-A", "-t", "-d", &cluster.url, "-c", "select 1"]);
        let answer = util::output(&mut psql)?;
        if answer.trim() != "1" {
            return Err(format!("`select 1` through psql returned {answer:?}"));
        }
        eprintln!(
            "pg: PostgreSQL {version} up on 127.0.0.1:{port} in {:.1?} (data in {})",
            started.elapsed(),
            cluster.dir.display()
        );
        Ok(cluster)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        drop(self.reaper_stdin.take());
        match self.reaper.wait() {
            Ok(st) if st.success() && !self.dir.exists() => {
                eprintln!("pg: stopped the server and removed {}", self.dir.display())
            }
            Ok(st) => eprintln!("pg: cleanup of {} incomplete ({st})", self.dir.display()),
            Err(e) => eprintln!("pg: waiting for the cleanup of {}: {e}", self.dir.display()),
        }
    }
}

/// The command line for a PostgreSQL binary: through `runuser -u postgres` when we are root.
fn pg_argv(as_postgres: bool, program: &Path) -> Vec<OsString> {
    let mut argv: Vec<OsString> = Vec::new();
    if as_postgres {
        argv.extend(["runuser", "-u", "postgres", "--"].map(OsString::from));
    }
    argv.push(program.into());
    argv
}

fn pg_cmd(as_postgres: bool, program: &Path) -> Command {
    let argv = pg_argv(as_postgres, program);
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd
}

/// The highest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
fn find_bin_dir(lib: &Path) -> Result<(String, PathBuf), String> {
    let hint = "is Debian's postgresql package installed? (`./x test` installs it)";
    let entries = std::fs::read_dir(lib).map_err(|e| format!("reading {}: {e}; {hint}", lib.display()))?;
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("bin/initdb").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let best = pick_version(&names).ok_or_else(|| format!("no */bin/initdb under {}; {hint}", lib.display()))?;
    Ok((best.to_owned(), lib.join(best).join("bin")))
}

/// Picks the highest version among directory names like "15", "16" or "9.6"; others are ignored.
fn pick_version(names: &[String]) -> Option<&str> {
    let key = |name: &str| -> Option<Vec<u32>> { name.split('.').map(|p| p.parse().ok()).collect() };
    names
        .iter()
        .filter_map(|n| key(n).map(|k| (k, n.as_str())))
        .max()
        .map(|(_, n)| n)
}

/// The uid and gid of the `postgres` system user.
fn postgres_ids() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = util::output(Command::new("id").args([flag, "postgres"]))
            .map_err(|e| format!("{e}\n(the postgres user comes with Debian's postgresql package)"))?;
        out.trim().parse().map_err(|e| format!("`id {flag} postgres` printed {out:?}: {e}"))
    };
    Ok((id("-u")?, id("-g")?))
}

/// The last `max` bytes of a (log) file, or a note why it could not be read.
fn tail(path: &Path, max: u64) -> String {
    let read = || -> std::io::Result<String> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        f.seek(SeekFrom::Start(len.saturating_sub(max)))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    read().unwrap_or_else(|e| format!("(could not read it: {e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn picks_highest_numeric_version() {
        assert_eq!(pick_version(&names(&["9.6", "15", "13"])), Some("15"));
        assert_eq!(pick_version(&names(&["16", "9.6", "17"])), Some("17"));
        assert_eq!(pick_version(&names(&["10", "9.6"])), Some("10"));
    }

    #[test]
    fn ignores_non_versions() {
        assert_eq!(pick_version(&names(&["README", "15", "x.1"])), Some("15"));
        assert_eq!(pick_version(&names(&["lib", ""])), None);
        assert_eq!(pick_version(&[]), None);
    }

    #[test]
    fn free_port_is_nonzero() {
        assert_ne!(util::free_port().ok(), Some(0));
    }
}
