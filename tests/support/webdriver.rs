//! A small W3C WebDriver client for the workbench's browser tests: Debian's `chromedriver`
//! driving headless `chromium`, spoken to over HTTP on loopback. Only what the tests use.
//!
//! The browser is required: when `chromedriver` is missing the tests fail with a message
//! saying how to install it (`.ci/run` does), they never skip.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The W3C key of a web element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long `wait_for` keeps trying.
const WAIT: Duration = Duration::from_secs(15);

/// Keys as WebDriver encodes them.
pub mod keys {
    pub const ENTER: &str = "\u{E007}";
    pub const ARROW_DOWN: &str = "\u{E015}";
    pub const ESCAPE: &str = "\u{E00C}";
}

/// A headless browser session; the driver process is stopped on drop.
pub struct Browser {
    agent: ureq::Agent,
    session: String,
    driver: Child,
}

/// An element of the current page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

fn executable(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium window of `width`×`height`.
    pub fn start(width: u32, height: u32) -> Browser {
        let driver_path = executable("CHROMEDRIVER", &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"])
            .unwrap_or_else(|| {
                panic!(
                    "the workbench browser tests need chromedriver and chromium: `apt-get install chromium chromium-driver` \
                     (.ci/run installs them), or set CHROMEDRIVER and CHROMIUM"
                )
            });
        let browser_path = executable("CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser"])
            .expect("chromium is installed next to chromedriver (`apt-get install chromium`)");
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", driver_path.display()));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut browser = Browser { agent, session: String::new(), driver };
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while browser.raw("GET", &format!("{base}/status"), None).is_err() {
            assert!(started.elapsed() < WAIT, "chromedriver did not answer on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser_path,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-extensions", "--no-first-run",
                    "--hide-scrollbars", format!("--window-size={width},{height}"),
                ],
            },
        }}});
        let created = browser.raw("POST", &format!("{base}/session"), Some(capabilities)).expect("session starts");
        browser.session = format!(
            "{base}/session/{}",
            created["sessionId"].as_str().unwrap_or_else(|| panic!("no session id in {created}"))
        );
        browser.command("POST", "/timeouts", json!({"implicit": 0, "pageLoad": 30_000, "script": 30_000}));
        browser
    }

    fn raw(&self, method: &str, url: &str, body: Option<Value>) -> Result<Value, String> {
        let response = match (method, body) {
            ("GET", _) => self.agent.get(url).call(),
            ("DELETE", _) => self.agent.delete(url).call(),
            (_, body) => self
                .agent
                .post(url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string().as_bytes()),
        }
        .map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.into_body().read_to_string().map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        if status.is_success() { Ok(value["value"].clone()) } else { Err(format!("{status}: {}", value["value"])) }
    }

    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        self.raw(method, &format!("{}{path}", self.session), Some(body))
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    /// Opens a URL and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", json!({"url": url}));
    }

    /// Runs a script in the page (`arguments` holds `args`) and returns its result.
    pub fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.command("POST", "/execute/sync", json!({"script": script, "args": args}))
    }

    /// Runs an asynchronous script: it gets a callback as its last argument and calls it with
    /// the result.
    pub fn script_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.command("POST", "/execute/async", json!({"script": script, "args": args}))
    }

    /// The elements matching a CSS selector, now.
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let found = self.command("POST", "/elements", json!({"using": "css selector", "value": css}));
        found
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str())
                    .map(|id| Element { browser: self, id: id.to_owned() })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first element matching a CSS selector, waiting for it to appear.
    pub fn find(&self, css: &str) -> Element<'_> {
        self.wait_for(&format!("an element matching `{css}`"), |b| b.find_all(css).into_iter().next())
    }

    /// Polls `check` until it returns something, or fails the test naming `what`.
    pub fn wait_for<'a, T>(&'a self, what: &str, check: impl Fn(&'a Browser) -> Option<T>) -> T {
        let started = Instant::now();
        loop {
            if let Some(found) = check(self) {
                return found;
            }
            if started.elapsed() > WAIT {
                let page = self.script("return document.body.innerText", vec![]);
                panic!("waited {WAIT:?} for {what}; the page shows:\n{}", page.as_str().unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The rendered text of every element matching `css`, read in one step (the page may
    /// redraw between WebDriver calls, which would leave element references stale).
    pub fn texts(&self, css: &str) -> Vec<String> {
        let found = self.script(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)",
            vec![Value::String(css.to_owned())],
        );
        found
            .as_array()
            .map(|list| list.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    /// Waits until an element matching `css` shows text containing `needle`; returns the text.
    pub fn wait_for_text(&self, css: &str, needle: &str) -> String {
        self.wait_for(&format!("`{css}` to show {needle:?}"), |b| b.texts(css).into_iter().find(|t| t.contains(needle)))
    }

    /// The element that has the keyboard focus.
    pub fn active_element(&self) -> Element<'_> {
        let found = self.command("GET", "/element/active", json!({}));
        Element { browser: self, id: found[ELEMENT_KEY].as_str().expect("an active element").to_owned() }
    }

    /// The page's markup, as the browser holds it now.
    pub fn page_source(&self) -> String {
        self.script("return document.documentElement.outerHTML", vec![]).as_str().unwrap_or_default().to_owned()
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let encoded = self.command("GET", "/screenshot", json!({}));
        base64::engine::general_purpose::STANDARD.decode(encoded.as_str().unwrap_or_default()).expect("base64 PNG")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.raw("DELETE", &self.session, None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Element<'_> {
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    pub fn click(&self) {
        self.browser.command("POST", &self.path("/click"), json!({}));
    }

    /// Types into the element (keys from [`keys`] included).
    pub fn send_keys(&self, text: &str) {
        self.browser.command("POST", &self.path("/value"), json!({"text": text}));
    }

    pub fn clear(&self) {
        self.browser.command("POST", &self.path("/clear"), json!({}));
    }

    /// The rendered text.
    pub fn text(&self) -> String {
        self.browser.command("GET", &self.path("/text"), json!({})).as_str().unwrap_or_default().to_owned()
    }

    /// A DOM property (`value`, `checked`, …) as JSON.
    pub fn property(&self, name: &str) -> Value {
        self.browser.command("GET", &self.path(&format!("/property/{name}")), json!({}))
    }

    /// An attribute, if present.
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.browser.command("GET", &self.path(&format!("/attribute/{name}")), json!({})).as_str().map(str::to_owned)
    }

    /// The same element, for comparisons across lookups.
    pub fn same_as(&self, other: &Element<'_>) -> bool {
        self.id == other.id
    }
}
