//! Small linear text classifiers on sparse features, for short messy texts (residents' reports
//! and questions): fastText-style features, TF-IDF weighting, softmax regression by SGD.
//!
//! - [`features`]: hashed folded words, word bigrams and character 3–5-grams of each word
//!   (`<word>` with boundary marks), so typos and missing accents still share most features.
//! - [`Vectorizer`]: the vocabulary seen in training and its IDF; texts become sorted, L2-
//!   normalised sparse vectors (sorted so that every sum runs in the same order: same input,
//!   same bits).
//! - [`Softmax`]: multinomial logistic regression trained by SGD with a decaying rate and L2.
//! - [`noisy`]: a copy of a text with typing mistakes, to train for them.

use std::collections::HashMap;

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// A sparse vector: (feature index, value), sorted by index.
pub type SparseVector = Vec<(u32, f32)>;

/// Hashed features of a text: words, word bigrams, character 3–5-grams of each word.
pub fn features(text: &str) -> Vec<u64> {
    let words = crate::words(text);
    let mut out = Vec::with_capacity(words.len() * 12);
    for (i, word) in words.iter().enumerate() {
        out.push(hash(&[b"w", word.as_bytes()]));
        if let Some(next) = words.get(i + 1) {
            out.push(hash(&[b"b", word.as_bytes(), b" ", next.as_bytes()]));
        }
        let marked: Vec<char> = format!("<{word}>").chars().collect();
        if marked.len() < 5 {
            continue;
        }
        for n in 3..=5 {
            for gram in marked.windows(n) {
                let gram: String = gram.iter().collect();
                out.push(hash(&[b"c", gram.as_bytes()]));
            }
        }
    }
    out
}

/// FNV-1a, 64 bits, over several byte slices.
fn hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The training vocabulary and its inverse document frequencies.
#[derive(Debug, Clone, Default)]
pub struct Vectorizer {
    vocabulary: HashMap<u64, u32>,
    idf: Vec<f32>,
}

impl Vectorizer {
    /// Learns the vocabulary of hashed documents, indexed in order of first appearance.
    pub fn fit(documents: &[Vec<u64>]) -> Vectorizer {
        let mut vocabulary: HashMap<u64, u32> = HashMap::new();
        let mut document_frequency: Vec<u32> = Vec::new();
        for doc in documents {
            let mut seen = doc.clone();
            seen.sort_unstable();
            seen.dedup();
            for h in seen {
                let next = vocabulary.len() as u32;
                let index = *vocabulary.entry(h).or_insert(next);
                if index as usize == document_frequency.len() {
                    document_frequency.push(0);
                }
                document_frequency[index as usize] += 1;
            }
        }
        let n_docs = documents.len() as f32;
        let idf = document_frequency
            .iter()
            .map(|&df| ((1.0 + n_docs) / (1.0 + df as f32)).ln() + 1.0)
            .collect();
        Vectorizer { vocabulary, idf }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.idf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    /// Sublinear TF × IDF over known features, L2-normalised, sorted by index.
    pub fn transform(&self, hashed: &[u64]) -> SparseVector {
        let mut tf: HashMap<u32, f32> = HashMap::new();
        for h in hashed {
            if let Some(&f) = self.vocabulary.get(h) {
                *tf.entry(f).or_default() += 1.0;
            }
        }
        let mut vector: SparseVector = tf
            .into_iter()
            .map(|(f, n)| (f, (1.0 + n.ln()) * self.idf[f as usize]))
            .collect();
        vector.sort_unstable_by_key(|(f, _)| *f);
        let norm = vector.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, x) in &mut vector {
                *x /= norm;
            }
        }
        vector
    }
}

/// How to train a [`Softmax`].
#[derive(Debug, Clone)]
pub struct SgdOptions {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
}

/// Multinomial logistic regression over sparse vectors.
#[derive(Debug, Clone)]
pub struct Softmax {
    n_classes: usize,
    /// `n_features × n_classes`, row-major by feature.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl Softmax {
    /// Trains on (vector, class) pairs by SGD; `rng` shuffles the order of each epoch.
    pub fn train(
        vectors: &[SparseVector],
        classes: &[usize],
        n_features: usize,
        n_classes: usize,
        options: &SgdOptions,
        rng: &mut StdRng,
    ) -> Softmax {
        let mut model = Softmax {
            n_classes,
            weights: vec![0f32; n_features * n_classes],
            bias: vec![0f32; n_classes],
        };
        let mut order: Vec<usize> = (0..vectors.len()).collect();
        let mut probabilities = vec![0f32; n_classes];
        let mut step = 0usize;
        for _ in 0..options.epochs {
            order.shuffle(rng);
            for &d in &order {
                let rate = options.learning_rate / (1.0 + step as f32 / vectors.len() as f32);
                step += 1;
                model.scores(&vectors[d], &mut probabilities);
                softmax(&mut probabilities);
                for (c, p) in probabilities.iter_mut().enumerate() {
                    *p -= if c == classes[d] { 1.0 } else { 0.0 };
                    model.bias[c] -= rate * *p;
                }
                for &(f, x) in &vectors[d] {
                    let row =
                        &mut model.weights[f as usize * n_classes..(f as usize + 1) * n_classes];
                    for (w, g) in row.iter_mut().zip(&probabilities) {
                        *w -= rate * (g * x + options.l2 * *w);
                    }
                }
            }
        }
        model
    }

    /// The probability of each class.
    pub fn probabilities(&self, vector: &SparseVector) -> Vec<f32> {
        let mut out = vec![0f32; self.n_classes];
        self.scores(vector, &mut out);
        softmax(&mut out);
        out
    }

    fn scores(&self, vector: &SparseVector, out: &mut [f32]) {
        out.copy_from_slice(&self.bias);
        for &(f, x) in vector {
            let row = &self.weights[f as usize * self.n_classes..(f as usize + 1) * self.n_classes];
            for (o, w) in out.iter_mut().zip(row) {
                *o += w * x;
            }
        }
    }
}

/// Turns scores into probabilities, in place.
pub fn softmax(values: &mut [f32]) {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in values.iter_mut() {
        *v /= sum;
    }
}

/// A copy of the text with a few letters dropped, doubled or swapped, as people type on phones.
pub fn noisy(text: &str, rng: &mut StdRng) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() && rng.gen_bool(0.06) {
            match rng.gen_range(0..3) {
                0 => {}
                1 => {
                    out.push(c);
                    out.push(c);
                }
                _ => {
                    if let Some(&next) = chars.get(i + 1) {
                        out.push(next);
                        out.push(c);
                        i += 1;
                    } else {
                        out.push(c);
                    }
                }
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_softmax_learns_two_topics_and_stays_deterministic() {
        let texts = [
            ("un canapé abandonné sur le trottoir", 0),
            ("vieux matelas posé dans la rue", 0),
            ("un frigo laissé devant l'immeuble", 0),
            ("tag peint sur la façade", 1),
            ("graffiti sur le mur de l'école", 1),
            ("des tags partout sur le rideau", 1),
        ];
        let hashed: Vec<Vec<u64>> = texts.iter().map(|(t, _)| features(t)).collect();
        let vectorizer = Vectorizer::fit(&hashed);
        let vectors: Vec<SparseVector> = hashed.iter().map(|h| vectorizer.transform(h)).collect();
        let classes: Vec<usize> = texts.iter().map(|(_, c)| *c).collect();
        let options = SgdOptions {
            epochs: 20,
            learning_rate: 2.0,
            l2: 1e-6,
        };
        let train = || {
            Softmax::train(
                &vectors,
                &classes,
                vectorizer.len(),
                2,
                &options,
                &mut StdRng::seed_from_u64(1),
            )
        };
        let model = train();
        let sofa = vectorizer.transform(&features("canape abandonne"));
        let tag = vectorizer.transform(&features("un tagg sur le mur"));
        assert!(model.probabilities(&sofa)[0] > 0.7);
        assert!(model.probabilities(&tag)[1] > 0.7);
        assert_eq!(model.probabilities(&tag), train().probabilities(&tag));
        let noisy_text = noisy(
            "un canapé abandonné sur le trottoir",
            &mut StdRng::seed_from_u64(3),
        );
        assert_ne!(noisy_text.len(), 0);
    }
}
