//! How many worker threads to run: as many as the container's CPU quota allows (cgroup v2
//! `cpu.max`, cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, rounded up), never more than
//! the CPUs the process may use, or `--workers N`. More threads than the quota only adds
//! throttling: a container limited to one CPU with 64 threads spends its slice switching.
//!
//! The cgroup of the process comes from `/proc/self/cgroup`, and where that cgroup is mounted
//! from `/proc/self/mountinfo` (inside a container the mount's root is the container's own
//! cgroup). Every ancestor up to the mount point counts: the smallest quota wins.

use std::path::{Path, PathBuf};

/// Why this many workers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WorkerSource {
    /// `--workers N` (or `[server] workers`).
    Flag,
    /// The CPU quota of the cgroup, in CPUs.
    CpuQuota {
        /// Quota divided by period.
        cpus: f64,
        /// 1 or 2.
        cgroup_version: u8,
    },
    /// No quota: the CPUs the process may run on.
    Cpus,
}

/// The worker thread count and its reason, printed at start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workers {
    /// Threads for the async runtime.
    pub count: usize,
    /// Where `count` came from.
    pub source: WorkerSource,
}

impl std::fmt::Display for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = if self.count == 1 { "" } else { "s" };
        write!(f, "{} worker thread{plural} (", self.count)?;
        match self.source {
            WorkerSource::Flag => f.write_str("set with --workers or [server] workers)"),
            WorkerSource::CpuQuota {
                cpus,
                cgroup_version,
            } => write!(f, "cgroup v{cgroup_version} CPU quota {cpus:.2})"),
            WorkerSource::Cpus => f.write_str("one per CPU, no CPU quota)"),
        }
    }
}

/// Decides the worker count: `flag` if given, else the CPU quota, else the CPUs available.
pub fn decide(flag: Option<usize>) -> Workers {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if let Some(n) = flag {
        return Workers {
            count: n.max(1),
            source: WorkerSource::Flag,
        };
    }
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let quota = read(Path::new("/proc/self/cgroup"))
        .zip(read(Path::new("/proc/self/mountinfo")))
        .and_then(|(cgroup, mountinfo)| cpu_quota(&cgroup, &mountinfo, read));
    match quota {
        Some((quota, version)) => Workers {
            // A quota of 1.5 CPUs keeps two threads busy part of the time.
            count: (quota.ceil() as usize).clamp(1, cpus),
            source: WorkerSource::CpuQuota {
                cpus: quota,
                cgroup_version: version,
            },
        },
        None => Workers {
            count: cpus,
            source: WorkerSource::Cpus,
        },
    }
}

/// The smallest CPU quota (in CPUs) over the process's cgroup and its ancestors, and the
/// cgroup version it came from; `read` reads a file (injected for tests).
fn cpu_quota(
    proc_cgroup: &str,
    mountinfo: &str,
    read: impl Fn(&Path) -> Option<String>,
) -> Option<(f64, u8)> {
    let mut best: Option<(f64, u8)> = None;
    for (version, dir, mount) in cpu_cgroup_dirs(proc_cgroup, mountinfo) {
        let mut current = Some(dir.as_path());
        while let Some(d) = current.filter(|d| d.starts_with(&mount)) {
            let quota = if version == 2 {
                read(&d.join("cpu.max")).and_then(|s| parse_cpu_max(&s))
            } else {
                read(&d.join("cpu.cfs_quota_us"))
                    .zip(read(&d.join("cpu.cfs_period_us")))
                    .and_then(|(q, p)| parse_cfs(&q, &p))
            };
            if let Some(q) = quota.filter(|q| best.is_none_or(|(b, _)| *q < b)) {
                best = Some((q, version));
            }
            current = d.parent();
        }
    }
    best
}

/// Directories of the process's CPU cgroups: (version, directory, mount point).
fn cpu_cgroup_dirs(proc_cgroup: &str, mountinfo: &str) -> Vec<(u8, PathBuf, PathBuf)> {
    let mut dirs = Vec::new();
    for line in mountinfo.lines() {
        // id parent major:minor root mount-point options [optional...] - fstype source super
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        let (Some(root), Some(mount), Some(fstype)) = (left.get(3), left.get(4), right.first())
        else {
            continue;
        };
        let (version, path) = match *fstype {
            "cgroup2" => (2, cgroup_path(proc_cgroup, |c| c.is_empty())),
            "cgroup"
                if right
                    .get(2)
                    .is_some_and(|o| o.split(',').any(|o| o == "cpu")) =>
            {
                (
                    1,
                    cgroup_path(proc_cgroup, |c| c.split(',').any(|c| c == "cpu")),
                )
            }
            _ => continue,
        };
        let Some(path) = path else { continue };
        // Inside a container the mount's root is the container's cgroup; strip it.
        let relative = path.strip_prefix(root).unwrap_or(path.as_str());
        let relative = relative.trim_start_matches('/');
        let mount = PathBuf::from(mount);
        dirs.push((version, mount.join(relative), mount));
    }
    dirs
}

/// The path of the hierarchy whose controller list matches in `/proc/self/cgroup`
/// (`hierarchy-id:controllers:path`).
fn cgroup_path(proc_cgroup: &str, controllers: impl Fn(&str) -> bool) -> Option<String> {
    proc_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, list, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers(list).then(|| path.to_string())
    })
}

/// cgroup v2 `cpu.max`: `max 100000` (no quota) or `QUOTA PERIOD`.
fn parse_cpu_max(content: &str) -> Option<f64> {
    let mut parts = content.split_whitespace();
    let quota = parts.next()?.parse::<f64>().ok()?;
    let period = parts
        .next()
        .map_or(Some(100_000.0), |p| p.parse::<f64>().ok())?;
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

/// cgroup v1: `cpu.cfs_quota_us` (-1 means none) over `cpu.cfs_period_us`.
fn parse_cfs(quota: &str, period: &str) -> Option<f64> {
    let quota = quota.trim().parse::<f64>().ok()?;
    let period = period.trim().parse::<f64>().ok()?;
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn files(pairs: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
        let map: HashMap<PathBuf, String> = pairs
            .iter()
            .map(|(k, v)| (PathBuf::from(k), v.to_string()))
            .collect();
        move |p| map.get(p).cloned()
    }

    #[test]
    fn parses_quota_files() {
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(1.5));
        assert_eq!(parse_cfs("-1\n", "100000\n"), None);
        assert_eq!(parse_cfs("50000\n", "100000\n"), Some(0.5));
    }

    #[test]
    fn cgroup_v2_in_a_container() {
        let cgroup = "0::/\n";
        let mountinfo =
            "30 25 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        let read = files(&[("/sys/fs/cgroup/cpu.max", "200000 100000\n")]);
        assert_eq!(cpu_quota(cgroup, mountinfo, read), Some((2.0, 2)));
    }

    #[test]
    fn cgroup_v2_nested_takes_the_smallest_ancestor_quota() {
        let cgroup = "0::/app/web\n";
        let mountinfo = "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let read = files(&[
            ("/sys/fs/cgroup/app/web/cpu.max", "max 100000"),
            ("/sys/fs/cgroup/app/cpu.max", "100000 100000"),
        ]);
        assert_eq!(cpu_quota(cgroup, mountinfo, read), Some((1.0, 2)));
    }

    #[test]
    fn cgroup_v1_host_and_container_views() {
        let cgroup = "4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n";
        let host = "40 30 0:35 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let read = files(&[
            (
                "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us",
                "100000",
            ),
            (
                "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us",
                "100000",
            ),
        ]);
        assert_eq!(cpu_quota(cgroup, host, read), Some((1.0, 1)));
        // In the container, the mount's root is the container's cgroup.
        let inside =
            "40 30 0:35 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n";
        let read = files(&[
            ("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "50000"),
            ("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000"),
        ]);
        assert_eq!(cpu_quota(cgroup, inside, read), Some((0.5, 1)));
    }

    #[test]
    fn no_quota_anywhere() {
        let cgroup = "1:cpu:/\n0::/\n";
        let mountinfo = "40 30 0:35 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        let read = files(&[
            ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1"),
            ("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000"),
        ]);
        assert_eq!(cpu_quota(cgroup, mountinfo, read), None);
    }

    #[test]
    fn flag_wins() {
        assert_eq!(
            decide(Some(3)),
            Workers {
                count: 3,
                source: WorkerSource::Flag
            }
        );
    }
}
