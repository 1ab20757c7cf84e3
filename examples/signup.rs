//! The seed's Flask app, ported to carafe as a library: the bundled site, plus
//!
//! - `GET /signup`: the sign-up form (`templates/signup.html`);
//! - `POST /signup`: validates name, email, password and confirmation; renders
//!   `templates/thanks.html` with the name, or the form again with the errors (status 422);
//! - `/js/<path>`: files from `static/js` (Flask's `send_from_directory('js', path)`).
//!
//! It takes the options of `carafe serve`, so TLS works the same way:
//!
//! ```sh
//! cargo run --example signup -- --tls gen          # https://localhost:8443/signup
//! cargo run --example signup -- --dev --port 0     # development mode, any free port
//! ```

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::Form;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use carafe::config::ServeConfig;
use carafe::http::Render;
use carafe::minijinja::context;
use serde::Deserialize;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _log = carafe::logging::init("info", carafe::logging::LogFormat::Text);
    let mut config = ServeConfig::from_command_line()?;
    config.site.mounts.push(js_mount()?);
    let app = carafe::App::load(config)?;
    let router = routes(app.router());
    app.serve(router).await
}

/// `/js` → `static/js`.
pub fn js_mount() -> anyhow::Result<carafe::site::Mount> {
    "/js=static/js".parse().map_err(anyhow::Error::msg)
}

/// The app's own routes, added to the site's.
pub fn routes(router: Router) -> Router {
    router.route("/signup", get(signup_form).post(signup))
}

/// The fields of the sign-up form.
#[derive(Debug, Default, Deserialize)]
pub struct Signup {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn signup_form(render: Render) -> Response {
    render.page("signup.html", context! {})
}

async fn signup(render: Render, Form(form): Form<Signup>) -> Response {
    let errors = validate(&form);
    if errors.is_empty() {
        return render.page("thanks.html", context! { name => form.name.trim() });
    }
    render.page_with_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "signup.html",
        context! {
            errors => errors,
            form => context! { name => form.name, email => form.email },
        },
    )
}

/// The same rules as `static/js/signup.js`, checked again on the server; field → message.
pub fn validate(form: &Signup) -> BTreeMap<&'static str, &'static str> {
    let mut errors = BTreeMap::new();
    let email = form.email.trim();
    if form.name.trim().is_empty() {
        errors.insert("name", "Please enter your name.");
    }
    if email.is_empty() {
        errors.insert("email", "Please enter your email address.");
    } else if !looks_like_email(email) {
        errors.insert("email", "Please enter a valid email address.");
    }
    if form.password.is_empty() {
        errors.insert("password", "Please enter a password.");
    } else if form.password.chars().count() < 8 {
        errors.insert("password", "Password must be at least 8 characters.");
    }
    if form.confirm.is_empty() {
        errors.insert("confirm", "Please confirm your password.");
    } else if form.confirm != form.password {
        errors.insert("confirm", "Passwords do not match.");
    }
    errors
}

/// `local@domain.tld` with no spaces, like the page script's check.
fn looks_like_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !email.chars().any(char::is_whitespace)
        && !domain.contains('@')
        && domain
            .split_once('.')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
}
