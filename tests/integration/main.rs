//! Integration tests: the real `carafe` binary on an ephemeral port, real clients (reqwest
//! trusting only the generated certificate, raw TLS, openssl, headless Chromium).

// Test helpers are `pub` for the sibling modules; nothing is exported.
#![allow(unreachable_pub)]

mod browser;
mod cert_cmd;
mod cert_doctor;
mod cert_keys;
mod config_file;
mod dev_mode;
mod example_app;
mod harness;
mod limits;
mod local_ca;
mod logs;
mod new_site;
mod pages;
mod pid1;
mod router;
mod shutdown;
mod sni_reload;
mod startup_errors;
mod static_files;
mod systemd;
mod templates;
mod tls;
mod workers;
