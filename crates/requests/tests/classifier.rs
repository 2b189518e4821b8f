//! The classifier trained on the shipped examples, checked on the development set (which it is
//! not trained on): a regression guard, not the reported figure (that one comes from the
//! held-out set, through `parvis requests train --eval`).

use requests::classify::{self, Classifier, TrainOptions};
use requests::{Catalogue, eval};

fn dev_set() -> Vec<classify::Example> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../eval/requests/dev-reports.jsonl"
    );
    classify::parse_examples(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_shipped_examples_train_a_classifier_that_holds_its_dev_figures() {
    let catalogue = Catalogue::built_in();
    let classifier = Classifier::built_in(&catalogue);
    let figures = eval::classification(&classifier, &dev_set());
    assert_eq!(figures.n_reports, 300);
    assert!(
        figures.type_top1 >= 0.80,
        "type top-1 {}",
        figures.type_top1
    );
    assert!(
        figures.type_top3 >= 0.95,
        "type top-3 {}",
        figures.type_top3
    );
    assert!(
        figures.null_on_non_reports >= 0.80,
        "non-reports null {}",
        figures.null_on_non_reports
    );
}

#[test]
fn training_is_deterministic_and_refuses_unknown_labels() {
    let catalogue = Catalogue::built_in();
    let a = Classifier::built_in(&catalogue).classify("tag sur le rideau de fer du kebab");
    let b = Classifier::built_in(&catalogue).classify("tag sur le rideau de fer du kebab");
    assert_eq!(a.candidates, b.candidates);
    assert_eq!(
        a.decided.unwrap().type_name,
        "Graffitis, tags, affiches et autocollants"
    );

    let bad = classify::parse_examples(
        r#"{"id":"x","description":"d","type":"Propreté","soustype":"Nope"}"#,
    )
    .unwrap();
    let error = Classifier::train(&catalogue, &bad, &TrainOptions::default()).unwrap_err();
    assert!(error.contains("not a public category"), "{error}");
    let half = classify::parse_examples(
        r#"{"id":"y","description":"d","type":"Propreté","soustype":null}"#,
    )
    .unwrap();
    assert!(Classifier::train(&catalogue, &half, &TrainOptions::default()).is_err());
    assert!(
        classify::parse_examples("{nope")
            .unwrap_err()
            .contains("line 1")
    );
}

#[test]
fn non_reports_are_not_filed() {
    let catalogue = Catalogue::built_in();
    let classifier = Classifier::built_in(&catalogue);
    for text in ["test", "bonjour", "comment inscrire mon fils à la crèche ?"] {
        let result = classifier.classify(text);
        assert!(
            result.decided.is_none(),
            "{text:?} filed as {:?}",
            result.decided
        );
    }
}
