//! The web pages in a real browser: headless Chromium driven over WebDriver (chromedriver,
//! Debian packages `chromium` and `chromium-driver`) against `parvis serve --demo`. A resident
//! asks the assistant and gets a cited answer; an operator signs in, sees requests on the map,
//! merges a duplicate and watches an alert arrive live. Screenshots of every page are written to
//! `$CARGO_TARGET_TMPDIR/screenshots/` (the test's artefacts).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

mod common;

use common::{free_port, parvis};

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn create_key(dir: &Path, role: &str) -> String {
    let out = parvis(dir)
        .args(["keys", "create", "--role", role, "--name", role])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned()
}

fn serve(dir: &Path, address: SocketAddr) -> Process {
    let mut child = parvis(dir)
        .args(["serve", "--demo", "--listen", &address.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "server did not start");
        match lines.next() {
            Some(Ok(line)) if line.contains("Parvis serving") => break,
            Some(Ok(_)) => continue,
            _ => panic!("server exited before serving"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Process(child)
}

fn chromedriver(port: u16) -> Process {
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian package chromium-driver) must be installed");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Process(child)
}

/// One HTTP/1.1 POST; returns (status, body).
fn post(address: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

async fn type_into(browser: &Client, css: &str, text: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Polls until `css` holds `needle` (pages update live).
async fn wait_for_text(browser: &Client, css: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(element) = browser.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
            && text.contains(needle)
        {
            return text;
        }
        assert!(Instant::now() < deadline, "{css} never showed {needle:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residents_and_operators_use_the_pages_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let operator = create_key(dir.path(), "operator");
    let app = create_key(dir.path(), "resident-app");
    let address = free_port();
    let _server = serve(dir.path(), address);
    let base = format!("http://{address}");
    let driver_port = free_port().port();
    let _driver = chromedriver(driver_port);

    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "chrome".into());
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let browser = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a WebDriver session with headless Chromium");

    // A resident asks the assistant, in French, and gets an answer citing an official sheet.
    browser
        .goto(&format!("{base}/assistant?lang=fr"))
        .await
        .unwrap();
    assert!(
        text_of(&browser, ".disclosure")
            .await
            .contains("assistant automatique")
    );
    type_into(
        &browser,
        "#question",
        "comment faire enlever un vieux canapé ?",
    )
    .await;
    click(&browser, "form.ask button").await;
    let source = browser
        .wait()
        .for_element(Locator::Css("ol.sources a"))
        .await
        .unwrap();
    assert!(
        source
            .attr("href")
            .await
            .unwrap()
            .unwrap()
            .starts_with("https://")
    );
    assert!(text_of(&browser, ".answer").await.contains("[1]"));
    // A follow-up keeps the conversation: the first exchange stays above the new one.
    type_into(&browser, "#question", "et par téléphone ?").await;
    click(&browser, "form.ask button").await;
    let earlier = wait_for_text(&browser, ".turn.earlier", "vieux canapé").await;
    assert!(earlier.contains("[1]"), "{earlier}");
    assert!(
        text_of(&browser, ".turn:not(.earlier) .question")
            .await
            .contains("par téléphone")
    );
    shot(&browser, "assistant").await;

    // An empty question is refused next to the field.
    browser.goto(&format!("{base}/assistant")).await.unwrap();
    browser
        .execute(
            "document.getElementById('question').removeAttribute('required'); \
             document.querySelector('form.ask').submit();",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        browser
            .wait()
            .for_element(Locator::Css("#question-error"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Écrivez une question")
    );

    // Operator pages send a visitor to the sign-in; a wrong key is refused by the field.
    browser.goto(&format!("{base}/requests")).await.unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/signin")
    );
    type_into(&browser, "#key", "pvs_wrong_key").await;
    click(&browser, "form.signin button").await;
    assert!(
        browser
            .wait()
            .for_element(Locator::Css(".field-error"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Clé inconnue")
    );
    type_into(&browser, "#key", &operator).await;
    click(&browser, "form.signin button").await;

    // Back on the requests page: the demo requests are on the map.
    browser
        .wait()
        .for_element(Locator::Css("svg.map"))
        .await
        .unwrap();
    let dots = browser
        .find_all(Locator::Css("svg.map circle.dot"))
        .await
        .unwrap();
    assert!(dots.len() > 100, "{} dots", dots.len());
    shot(&browser, "requests").await;
    // A request on the map opens its detail.
    browser
        .execute(
            "document.querySelector('svg.map a').dispatchEvent(new MouseEvent('click', {bubbles: true}));",
            vec![],
        )
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Css("dl.facts"))
        .await
        .unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/requests/")
    );

    // Two reports of the same bulky item, 40 m apart: the second proposes the first as a
    // duplicate, and the operator merges it.
    let report = |lat: &str| {
        let body = format!(
            "api_key={app}&service_code=OBJ-01&lat={lat}&long=2.3522&description=canap%C3%A9+abandonn%C3%A9"
        );
        let (status, body) = post(
            address,
            "/open311/v2/requests.json",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &body,
        );
        assert_eq!(status, 201, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v[0]["service_request_id"].as_str().unwrap().to_owned()
    };
    let first = report("48.85660");
    let second = report("48.85696");
    browser
        .goto(&format!("{base}/requests/{second}"))
        .await
        .unwrap();
    let merge = browser
        .wait()
        .for_element(Locator::Css(&format!(
            "#duplicates input[name=into][value='{first}'] + button"
        )))
        .await
        .unwrap();
    shot(&browser, "request-detail").await;
    merge.click().await.unwrap();
    wait_for_text(&browser, "#stage", "fusionné").await;
    assert!(
        text_of(&browser, "dl.facts")
            .await
            .contains(&format!("#{first}"))
    );

    // The overview.
    browser.goto(&format!("{base}/")).await.unwrap();
    assert!(
        text_of(&browser, ".cards")
            .await
            .contains("Signalements ouverts")
    );
    shot(&browser, "overview").await;

    // Sensors: an alert raised now shows up in the list without reloading the page.
    browser.goto(&format!("{base}/sensors")).await.unwrap();
    browser
        .wait()
        .for_element(Locator::Css("svg.chart"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while browser
        .find(Locator::Css("#live-status[data-state=on]"))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the live connection never opened"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let surge = serde_json::json!([{
        "id": "urn:ngsi-ld:TrafficFlowObserved:demo-voltaire",
        "type": "TrafficFlowObserved",
        "intensity": {"type": "Property", "value": 9000, "observedAt": now},
    }])
    .to_string();
    let bearer = format!("Bearer {operator}");
    let (status, body) = post(
        address,
        "/ngsi-ld/v1/entityOperations/upsert",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &bearer),
        ],
        &surge,
    );
    assert!(status < 300, "{status} {body}");
    let row = wait_for_text(&browser, "#alerts tr:first-child", "demo-voltaire").await;
    assert!(row.contains("9000"), "{row}");
    shot(&browser, "sensors").await;

    // Mobility, the register, the 404 page: each renders.
    browser.goto(&format!("{base}/mobility")).await.unwrap();
    assert!(text_of(&browser, "h1").await.contains("Mobilité"));
    shot(&browser, "mobility").await;
    browser.goto(&format!("{base}/register")).await.unwrap();
    assert!(text_of(&browser, "h1").await.contains("Registre"));
    shot(&browser, "register").await;
    browser.goto(&format!("{base}/no-such-page")).await.unwrap();
    assert!(text_of(&browser, "h1").await.contains("Page introuvable"));
    shot(&browser, "not-found").await;

    // The English switch.
    browser.goto(&format!("{base}/?lang=en")).await.unwrap();
    assert!(text_of(&browser, ".cards").await.contains("Open requests"));
    assert_eq!(
        browser
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("en")
    );
    browser.close().await.unwrap();
}
