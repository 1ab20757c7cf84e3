//! Worker threads follow the CPU quota of the cgroup carafe runs in, and `--workers N`
//! overrides it; the count is printed at start.

use std::path::PathBuf;
use std::process::Command;

use crate::harness::{Carafe, site_copy};

fn workers_line(server: &Carafe) -> String {
    server
        .stdout()
        .into_iter()
        .find(|l| l.contains("worker thread"))
        .expect("a workers line")
}

#[test]
fn workers_flag_overrides_and_is_printed() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &["--workers", "3"]);
    assert_eq!(
        workers_line(&server),
        "carafe: 3 worker threads (set with --workers or [server] workers)"
    );
}

/// A cgroup v1 `cpu` group with a quota of one CPU, removed on drop.
struct CpuCgroup(PathBuf);

impl CpuCgroup {
    fn create() -> Option<Self> {
        let base = ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.join("cpu.cfs_quota_us").exists())?;
        let dir = base.join(format!("carafe-test-{}", std::process::id()));
        std::fs::create_dir(&dir).ok()?;
        let group = CpuCgroup(dir);
        std::fs::write(group.0.join("cpu.cfs_period_us"), "100000").ok()?;
        std::fs::write(group.0.join("cpu.cfs_quota_us"), "100000").ok()?;
        Some(group)
    }
}

impl Drop for CpuCgroup {
    fn drop(&mut self) {
        // The directory can only go once no process is left in it.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

#[test]
fn workers_follow_a_one_cpu_cgroup_v1_quota() {
    let Some(group) = CpuCgroup::create() else {
        eprintln!("skipping: cannot create a cgroup v1 cpu group here (not root, or no cgroup v1)");
        return;
    };
    let site = site_copy();
    // A shell joins the group, then becomes carafe (exec keeps the pid and the group).
    let procs = group.0.join("cgroup.procs");
    let script = format!("echo $$ > '{}' && exec \"$0\" \"$@\"", procs.display());
    let server = Carafe::start_command(
        Command::new("sh")
            .args(["-c", &script, crate::harness::bin(), "serve", "--root"])
            .arg(site.path())
            .args(["--port", "0"]),
    );
    assert_eq!(
        workers_line(&server),
        "carafe: 1 worker thread (cgroup v1 CPU quota 1.00)"
    );
    drop(server);
}
