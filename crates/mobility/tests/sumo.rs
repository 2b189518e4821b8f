//! The TraCI client and the controllers against a real `sumo` (Debian package `sumo`, installed
//! by `.ci/run`) on a 3×3 grid generated with `netgenerate`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use mobility::bench::{self, Scenario};
use mobility::control::{Driver, Kind, Timing};
use mobility::traci::{Client, TraciError};

/// A 3×3 grid of signalised junctions with ten minutes of demand, in a fresh folder.
fn grid(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parvis-sumo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let status = Command::new("netgenerate")
        .env("SUMO_HOME", "/usr/share/sumo")
        .args(["--grid", "--grid.number", "3", "--grid.length", "200"])
        .args(["--default.lanenumber", "1", "-j", "traffic_light"])
        .args(["-o", "grid.net.xml", "--no-turnarounds", "true"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .expect("netgenerate (Debian package sumo) must be installed");
    assert!(status.success());
    // Straight-through flows in both directions of every row and column, expanded to vehicles.
    let mut vehicles = Vec::new();
    let sides = [
        ("A0", "A1", "A2", "A1A0"),
        ("B0", "B1", "B2", "B1B0"),
        ("C0", "C1", "C2", "C1C0"),
        ("A0", "B0", "C0", "B0A0"),
        ("A1", "B1", "C1", "B1A1"),
        ("A2", "B2", "C2", "B2A2"),
    ];
    for (i, (a, b, c, _)) in sides.iter().enumerate() {
        for k in 0..60 {
            let depart = k * 10 + i;
            vehicles.push((depart, format!("{a}{b} {b}{c}"), format!("f{i}_{k}")));
            vehicles.push((depart + 3, format!("{c}{b} {b}{a}"), format!("r{i}_{k}")));
        }
    }
    vehicles.sort();
    let mut routes = String::from("<routes>\n");
    for (depart, edges, id) in vehicles {
        routes.push_str(&format!(
            "  <vehicle id=\"{id}\" depart=\"{depart}\"><route edges=\"{edges}\"/></vehicle>\n"
        ));
    }
    routes.push_str("</routes>\n");
    std::fs::write(dir.join("grid.rou.xml"), routes).unwrap();
    std::fs::write(
        dir.join("grid.sumocfg"),
        "<configuration><input><net-file value=\"grid.net.xml\"/><route-files value=\"grid.rou.xml\"/></input><time><begin value=\"0\"/><end value=\"900\"/></time></configuration>\n",
    )
    .unwrap();
    dir
}

fn start(dir: &Path) -> (std::process::Child, Client) {
    let scenario = Scenario::load(dir).unwrap();
    let port = bench::free_port().unwrap();
    let child = bench::sumo_command(&scenario, 7, port, &dir.join("tripinfo.xml"))
        .spawn()
        .expect("sumo (Debian package sumo) must be installed");
    let client = Client::connect(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(30),
    )
    .unwrap();
    (child, client)
}

#[test]
fn the_client_speaks_traci_with_sumo() {
    let dir = grid("client");
    let (child, mut client) = start(&dir);
    let (api, version) = client.version().unwrap();
    assert_eq!(api, 20, "{version}");
    assert!(version.starts_with("SUMO"), "{version}");
    assert_eq!(client.time().unwrap(), 0.0);

    let mut lights = client.traffic_lights().unwrap();
    lights.sort();
    assert_eq!(lights.len(), 9);
    let centre = "B1";
    let links = client.tl_controlled_links(centre).unwrap();
    let lanes = client.tl_controlled_lanes(centre).unwrap();
    assert_eq!(links.len(), lanes.len());
    assert!(links.iter().flatten().all(|l| l.from.contains('_')));
    let programs = client.tl_programs(centre).unwrap();
    assert_eq!(programs[0].phases[0].state.len(), links.len());

    // Set a phase, read it back; a state string too.
    client.set_tl_phase(centre, 2).unwrap();
    assert_eq!(client.tl_phase(centre).unwrap(), 2);
    let all_red = "r".repeat(links.len());
    client.set_tl_state(centre, &all_red).unwrap();
    assert_eq!(client.tl_state(centre).unwrap(), all_red);

    client.step_until(120.0).unwrap();
    assert_eq!(client.time().unwrap(), 120.0);
    assert!(client.min_expected_vehicles().unwrap() > 0);
    // With B1 all red since t = 0, its approaches queue.
    let halting: f64 = lanes
        .iter()
        .map(|lane| {
            client
                .get(
                    mobility::traci::cmd::GET_LANE,
                    mobility::traci::var::LAST_STEP_HALTING_NUMBER,
                    lane,
                )
                .unwrap()
                .as_f64()
                .unwrap()
        })
        .sum();
    assert!(halting > 0.0, "no queue at an all-red junction");

    // An unknown light is a refusal carrying SUMO's message, and the connection goes on.
    let error = client.tl_phase("no-such-light").unwrap_err();
    assert!(matches!(error, TraciError::Refused { .. }), "{error:?}");
    assert_eq!(client.time().unwrap(), 120.0);
    client.close().unwrap();
    child.wait_with_output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn controllers_drive_the_grid_safely() {
    let dir = grid("drive");
    let (child, mut client) = start(&dir);
    let intersections = Driver::discover(&mut client).unwrap();
    assert_eq!(intersections.len(), 9);
    let timing = Timing::resco("grid");
    let mut driver = Driver::new(intersections, Kind::Wave, timing).unwrap();
    let mut changes = Vec::new();
    let mut states = Vec::new();
    driver
        .run(
            &mut client,
            900.0,
            |change| changes.push(change.clone()),
            |driver| states.push(driver.status()),
        )
        .unwrap();
    assert!(!changes.is_empty());
    // Minimum green: two changes of one intersection are at least yellow + min green apart.
    for a in &changes {
        for b in &changes {
            if a.intersection == b.intersection && b.time > a.time {
                assert!(
                    b.time - a.time >= timing.yellow + timing.min_green,
                    "{a:?} {b:?}"
                );
            }
        }
    }
    assert!(states.iter().all(|s| s.len() == 9));
    client.close().unwrap();
    child.wait_with_output().unwrap();

    // The benchmark's own run: every vehicle inserted, finite delays.
    let scenario = Scenario::load(&dir).unwrap();
    for kind in [Kind::Fixed, Kind::Greedy] {
        let result = bench::run(&scenario, kind, 1, &dir, false).unwrap();
        assert_eq!(result.stats.not_inserted, 0);
        assert_eq!(result.stats.trips, 720);
        assert!(result.stats.delay > 0.0 && result.stats.delay < 300.0);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
