//! The shipped routing table and the routing model's back-off.

use requests::history::PastReport;
use requests::{Catalogue, Routing};
use time::macros::date;

fn report(soustype: &str, arrondissement: u8, service: &str) -> PastReport {
    PastReport {
        id: String::new(),
        type_name: "Objets abandonnés".into(),
        soustype: soustype.into(),
        address: String::new(),
        arrondissement,
        date: date!(2024 - 01 - 01),
        service: service.into(),
        lat: 48.86,
        lon: 2.35,
    }
}

#[test]
fn local_rules_need_support_and_fall_back_to_the_category_then_the_catalogue() {
    let catalogue = Catalogue::built_in();
    let sofa = "Autres objets encombrants abandonnés";
    let mut history: Vec<PastReport> = (0..10).map(|_| report(sofa, 1, "Ramen")).collect();
    history.extend((0..3).map(|_| report(sofa, 12, "DEVE")));
    history.push(report(sofa, 13, "DEVE"));
    let routing = Routing::learn(&catalogue, &history, 3);
    assert_eq!(routing.route(&catalogue, "OBJ-01", Some(1)), "Ramen");
    assert_eq!(routing.route(&catalogue, "OBJ-01", Some(12)), "DEVE");
    assert_eq!(
        routing.route(&catalogue, "OBJ-01", Some(13)),
        "Ramen",
        "one report is not enough"
    );
    assert_eq!(routing.route(&catalogue, "OBJ-01", None), "Ramen");
    let unseen = catalogue.get("EAU-01").unwrap();
    assert_eq!(
        routing.route(&catalogue, "EAU-01", Some(5)),
        unseen.default_service
    );
}

#[test]
fn the_shipped_table_covers_the_catalogue() {
    let catalogue = Catalogue::built_in();
    let routing = Routing::built_in();
    for service in catalogue.all() {
        assert!(
            !routing
                .route(&catalogue, &service.code, Some(11))
                .is_empty(),
            "{}",
            service.code
        );
    }
    assert_eq!(routing.route(&catalogue, "OBJ-01", Some(11)), "Ramen");
}
