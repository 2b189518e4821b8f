//! The report classifier: from a resident's free-text description, the most likely categories
//! with probabilities, or "cannot decide" when the text is not a street-problem report or the
//! model is unsure.
//!
//! Model, chosen for small data (about 1,500 written examples) and messy text:
//!
//! - **Features**: folded words, word bigrams and character 3–5-grams of each word (fastText
//!   style, `<word>` with boundary marks, so typos and missing accents still share most
//!   features), weighted by sublinear TF × IDF and L2-normalised.
//! - **Type**: multinomial logistic regression over the 10 types plus a "not a report" class,
//!   trained by SGD with L2 regularisation; its probabilities decide (the argmax must be a type
//!   and reach the threshold, calibrated on the development set).
//! - **Sub-type** within the chosen type: multinomial naive Bayes over the same features
//!   (141 public sub-types, several with only a handful of examples: naive Bayes degrades more
//!   gracefully there than a 141-way regression, and it trains by counting).
//!
//! Training is deterministic (seeded shuffles) and takes well under a second on the shipped
//! examples, so the model is built from the examples embedded in the binary when the service
//! starts; `parvis requests train` retrains it with extra example files and evaluates it.

use std::collections::{BTreeMap, HashMap};

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Deserialize;
use text::linear::{self, SgdOptions, Softmax, SparseVector, Vectorizer};

use crate::catalogue::Catalogue;

/// The training examples shipped with Parvis (written for the project, see `data/README.md`):
/// a first batch, and a second written for breadth of vocabulary and forms.
pub const BUILT_IN_EXAMPLES: &str = concat!(
    include_str!("../data/train.jsonl"),
    include_str!("../data/train-2.jsonl")
);

/// Default probability the best type must reach for the classifier to decide.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// One labelled description; `type_name: None` marks a text that is not a street report.
#[derive(Debug, Clone, Deserialize)]
pub struct Example {
    #[serde(default)]
    pub id: String,
    pub description: String,
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    pub soustype: Option<String>,
}

/// Reads JSON lines of examples; the error names the line.
pub fn parse_examples(text: &str) -> Result<Vec<Example>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    /// Noisy copies (dropped, doubled or swapped letters) added per example.
    pub noisy_copies: usize,
    pub seed: u64,
    /// Naive Bayes smoothing for sub-types.
    pub smoothing: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 15,
            learning_rate: 5.0,
            l2: 1e-6,
            noisy_copies: 2,
            seed: 20261126,
            smoothing: 0.1,
        }
    }
}

/// A category the text may belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub type_name: String,
    /// Probability of the type.
    pub probability: f32,
    /// The most likely public sub-type within the type, and its service code.
    pub soustype: String,
    pub service_code: String,
    /// Probability of the sub-type given the type.
    pub soustype_probability: f32,
}

/// What the classifier says about one text.
#[derive(Debug, Clone)]
pub struct Classification {
    /// Every type, most likely first.
    pub candidates: Vec<Candidate>,
    /// Probability that the text is not a street-problem report.
    pub not_a_report: f32,
    /// The category filed, or `None` when the classifier cannot decide.
    pub decided: Option<Candidate>,
}

/// A trained classifier.
#[derive(Debug, Clone)]
pub struct Classifier {
    vectorizer: Vectorizer,
    /// Class `i < types.len()` is a type; the last class is "not a report".
    types: Vec<String>,
    model: Softmax,
    soustypes: Vec<SoustypeModel>,
    threshold: f32,
}

/// Naive Bayes over the public sub-types of one type.
#[derive(Debug, Clone)]
struct SoustypeModel {
    /// (sub-type name, service code).
    classes: Vec<(String, String)>,
    log_prior: Vec<f32>,
    /// Log-likelihood of a feature never seen with the class.
    log_unseen: Vec<f32>,
    /// For features seen in this type: log-likelihood minus `log_unseen`, per class.
    log_seen: HashMap<u32, Vec<f32>>,
}

impl Classifier {
    /// Trains on the built-in examples and the catalogue's own category names.
    pub fn built_in(catalogue: &Catalogue) -> Classifier {
        let examples = parse_examples(BUILT_IN_EXAMPLES).expect("the built-in examples parse");
        Classifier::train(catalogue, &examples, &TrainOptions::default())
            .expect("the built-in examples name catalogue categories (tested)")
    }

    /// Trains on `examples` plus the names of the catalogue's public categories. Fails on an
    /// example whose type or sub-type is not in the catalogue.
    pub fn train(
        catalogue: &Catalogue,
        examples: &[Example],
        options: &TrainOptions,
    ) -> Result<Classifier, String> {
        let types: Vec<String> = catalogue.types().to_vec();
        let null_class = types.len();
        let mut rng = StdRng::seed_from_u64(options.seed);

        // (text, class, service index in catalogue) for every document.
        let mut documents: Vec<(String, usize, Option<usize>)> = Vec::new();
        for service in catalogue.public() {
            let class = types.iter().position(|t| *t == service.type_name).unwrap();
            let code = catalogue.all().iter().position(|s| s.code == service.code);
            documents.push((service.name.clone(), class, code));
            documents.push((
                format!("{} {}", service.type_name, service.name),
                class,
                code,
            ));
        }
        for example in examples {
            match (&example.type_name, &example.soustype) {
                (Some(type_name), Some(soustype)) => {
                    let service = catalogue
                        .find(type_name, soustype)
                        .filter(|s| !s.agent_only)
                        .ok_or_else(|| {
                            format!(
                                "example {:?}: ({type_name:?}, {soustype:?}) is not a public category of the catalogue",
                                example.id
                            )
                        })?;
                    let class = types.iter().position(|t| t == type_name).unwrap();
                    let code = catalogue.all().iter().position(|s| s.code == service.code);
                    documents.push((example.description.clone(), class, code));
                }
                (None, None) => documents.push((example.description.clone(), null_class, None)),
                _ => {
                    return Err(format!(
                        "example {:?}: type and soustype must both be set or both be null",
                        example.id
                    ));
                }
            }
        }
        let originals = documents.len();
        for i in 0..originals {
            for _ in 0..options.noisy_copies {
                let (text, class, code) = documents[i].clone();
                documents.push((linear::noisy(&text, &mut rng), class, code));
            }
        }

        let hashed: Vec<Vec<u64>> = documents
            .iter()
            .map(|(t, _, _)| linear::features(t))
            .collect();
        let vectorizer = Vectorizer::fit(&hashed);
        let vectors: Vec<SparseVector> = hashed.iter().map(|h| vectorizer.transform(h)).collect();
        let n_features = vectorizer.len();
        let classes: Vec<usize> = documents.iter().map(|(_, class, _)| *class).collect();
        let model = Softmax::train(
            &vectors,
            &classes,
            n_features,
            types.len() + 1,
            &SgdOptions {
                epochs: options.epochs,
                learning_rate: options.learning_rate,
                l2: options.l2,
            },
            &mut rng,
        );
        let mut classifier = Classifier {
            vectorizer,
            types,
            model,
            soustypes: Vec::new(),
            threshold: DEFAULT_THRESHOLD,
        };

        // Sub-types: naive Bayes per type.
        for (class, _) in classifier.types.iter().enumerate() {
            let services: Vec<usize> = catalogue
                .all()
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.agent_only && s.type_name == classifier.types[class])
                .map(|(i, _)| i)
                .collect();
            let mut counts: Vec<BTreeMap<u32, f32>> = vec![BTreeMap::new(); services.len()];
            let mut n_examples = vec![0f32; services.len()];
            for (d, (_, _, code)) in documents.iter().enumerate() {
                let Some(k) = code.and_then(|c| services.iter().position(|&s| s == c)) else {
                    continue;
                };
                n_examples[k] += 1.0;
                for &(f, x) in &vectors[d] {
                    *counts[k].entry(f).or_default() += x;
                }
            }
            let vocabulary_size = n_features as f32;
            let totals: Vec<f32> = counts.iter().map(|c| c.values().sum()).collect();
            let log_unseen: Vec<f32> = totals
                .iter()
                .map(|t| (options.smoothing / (t + options.smoothing * vocabulary_size)).ln())
                .collect();
            let mut log_seen: HashMap<u32, Vec<f32>> = HashMap::new();
            for (k, class_counts) in counts.iter().enumerate() {
                for (&f, &count) in class_counts {
                    let row = log_seen
                        .entry(f)
                        .or_insert_with(|| vec![0.0; services.len()]);
                    let log_p = ((count + options.smoothing)
                        / (totals[k] + options.smoothing * vocabulary_size))
                        .ln();
                    row[k] = log_p - log_unseen[k];
                }
            }
            let total_examples: f32 = n_examples.iter().sum();
            classifier.soustypes.push(SoustypeModel {
                classes: services
                    .iter()
                    .map(|&i| {
                        let s = &catalogue.all()[i];
                        (s.name.clone(), s.code.clone())
                    })
                    .collect(),
                log_prior: n_examples
                    .iter()
                    .map(|n| ((n + 1.0) / (total_examples + services.len() as f32)).ln())
                    .collect(),
                log_unseen,
                log_seen,
            });
        }
        Ok(classifier)
    }

    /// The same model deciding at another threshold.
    pub fn with_threshold(mut self, threshold: f32) -> Classifier {
        self.threshold = threshold;
        self
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Classifies a description.
    pub fn classify(&self, description: &str) -> Classification {
        let vector = self.vectorizer.transform(&linear::features(description));
        let probabilities = self.model.probabilities(&vector);
        let not_a_report = probabilities[self.types.len()];
        let mut candidates: Vec<Candidate> = (0..self.types.len())
            .map(|class| {
                let (soustype, service_code, soustype_probability) =
                    self.soustypes[class].best(&vector);
                Candidate {
                    type_name: self.types[class].clone(),
                    probability: probabilities[class],
                    soustype,
                    service_code,
                    soustype_probability,
                }
            })
            .collect();
        candidates.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        let decided = candidates
            .first()
            .filter(|best| best.probability >= self.threshold && best.probability > not_a_report)
            .cloned();
        Classification {
            candidates,
            not_a_report,
            decided,
        }
    }
}

impl SoustypeModel {
    /// The best sub-type, its code and its probability.
    fn best(&self, vector: &SparseVector) -> (String, String, f32) {
        let mut scores: Vec<f32> = self
            .log_prior
            .iter()
            .zip(&self.log_unseen)
            .map(|(prior, unseen)| prior + unseen * vector.iter().map(|(_, x)| x).sum::<f32>())
            .collect();
        for (f, x) in vector {
            if let Some(row) = self.log_seen.get(f) {
                for (score, l) in scores.iter_mut().zip(row) {
                    *score += x * l;
                }
            }
        }
        linear::softmax(&mut scores);
        let (k, p) = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("every type has at least one public sub-type");
        let (name, code) = &self.classes[k];
        (name.clone(), code.clone(), *p)
    }
}
