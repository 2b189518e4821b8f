//! From a resident's question to weighted search terms: language detection, the lexicon of
//! abbreviations, informal words and English administrative terms (`lexicon.txt`), spelling
//! correction against the corpus vocabulary, then the French analyzer.

use std::collections::HashMap;

use tantivy::tokenizer::TextAnalyzer;

use crate::index::stems;
use crate::text::words;

/// The language of a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
}

const ENGLISH_MARKERS: &[&str] = &[
    "the", "how", "what", "where", "when", "which", "who", "why", "can", "could", "should", "do",
    "does", "did", "is", "are", "am", "my", "i", "i'm", "im", "you", "your", "to", "of", "for",
    "and", "get", "need", "want", "have", "has", "with", "from", "in", "it", "if", "this", "that",
    "there", "please", "hi", "hello", "much", "long", "lost", "new",
];
const FRENCH_MARKERS: &[&str] = &[
    "le", "la", "les", "de", "des", "du", "un", "une", "et", "est", "je", "j", "mon", "ma", "mes",
    "pour", "comment", "quoi", "que", "qui", "quel", "quelle", "quels", "faire", "dois", "peux",
    "pas", "ne", "en", "au", "aux", "sur", "avec", "il", "elle", "on", "nous", "vous", "moi",
    "bonjour", "svp", "c", "ca", "d", "l", "qu", "suis", "ai", "faut",
];

/// Words that carry little meaning in a question; kept with a low weight.
const FILLER: &[&str] = &[
    "comment",
    "faire",
    "fait",
    "quoi",
    "quel",
    "quelle",
    "quels",
    "quelles",
    "peux",
    "peut",
    "puis",
    "dois",
    "doit",
    "faut",
    "veux",
    "voudrais",
    "savoir",
    "besoin",
    "bonjour",
    "merci",
    "svp",
    "aide",
    "aider",
    "demarche",
    "demarches",
    "possible",
    "question",
    "madame",
    "monsieur",
    "slt",
    "salut",
    "stp",
    "truc",
    "chose",
    "etc",
];

const ENGLISH_STOP: &[&str] = &[
    "the", "a", "an", "how", "what", "where", "when", "which", "who", "why", "can", "could",
    "should", "would", "do", "does", "did", "is", "are", "am", "was", "were", "be", "been", "my",
    "i", "i'm", "im", "me", "you", "your", "to", "of", "for", "and", "or", "get", "got", "need",
    "want", "have", "has", "had", "with", "from", "in", "on", "at", "it", "if", "this", "that",
    "there", "please", "hi", "hello", "some", "any", "about", "as", "by", "so", "just", "now",
    "then", "will", "not", "no", "yes", "we", "our", "they", "their", "he", "she", "his", "her",
    "them", "us", "make", "go", "know", "help", "thanks", "thank", "hey", "paris", "france",
    "french", "into", "out", "up", "all", "one", "still",
];

/// The lexicon: phrase → expansion, per language.
#[derive(Debug, Default)]
pub struct Lexicon {
    french: HashMap<Vec<String>, Vec<String>>,
    english: HashMap<Vec<String>, Vec<String>>,
    longest: usize,
}

impl Lexicon {
    /// The lexicon the project ships: the hand-picked entries, then the general administrative
    /// vocabulary (`lexicon-general.txt`, which never repeats a phrase of the first).
    pub fn builtin() -> Lexicon {
        Lexicon::parse(concat!(
            include_str!("lexicon.txt"),
            "\n",
            include_str!("lexicon-general.txt")
        ))
    }

    pub fn parse(text: &str) -> Lexicon {
        let mut lexicon = Lexicon::default();
        let mut section = "";
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with('[') {
                section = line;
                continue;
            }
            let Some((phrase, expansion)) = line.split_once("=>") else {
                continue;
            };
            let phrase = words(phrase);
            let expansion = words(expansion);
            if phrase.is_empty() {
                continue;
            }
            lexicon.longest = lexicon.longest.max(phrase.len());
            let table = if section == "[en]" {
                &mut lexicon.english
            } else {
                &mut lexicon.french
            };
            table.insert(phrase, expansion);
        }
        lexicon
    }

    /// The translation of an English word through its base form, when only the base form is in
    /// the lexicon: plural and possessive "s", "-ed", "-ing", "-ies"/"-ied" (with "y"), a final
    /// "e" restored or a doubled consonant undone ("fined" → "fine", "swapped" → "swap").
    pub fn english_inflected(&self, word: &str) -> Option<&[String]> {
        if word.chars().count() < 4 || self.english.contains_key(&vec![word.to_owned()]) {
            return None;
        }
        let mut bases: Vec<String> = Vec::new();
        let word = word.strip_suffix("'s").unwrap_or(word);
        for (ending, replacements) in [
            ("ies", &["y"][..]),
            ("ied", &["y"][..]),
            ("ing", &["", "e"][..]),
            ("ed", &["", "e"][..]),
            ("es", &[""][..]),
            ("s", &[""][..]),
        ] {
            if let Some(stem) = word.strip_suffix(ending) {
                for r in replacements {
                    bases.push(format!("{stem}{r}"));
                }
                // "swapped" → "swap", "running" → "run".
                let chars: Vec<char> = stem.chars().collect();
                if ending != "s"
                    && ending != "es"
                    && chars.len() >= 3
                    && chars[chars.len() - 1] == chars[chars.len() - 2]
                {
                    bases.push(chars[..chars.len() - 1].iter().collect());
                }
            }
        }
        bases.push(word.to_owned());
        bases
            .into_iter()
            .filter(|b| b.chars().count() >= 3)
            .find_map(|b| self.english.get(&vec![b]).map(Vec::as_slice))
    }

    /// Greedy longest match over `words`: (matched span, expansion).
    fn matches<'a>(&'a self, words: &[String], english: bool) -> Vec<(usize, usize, &'a [String])> {
        let table = if english { &self.english } else { &self.french };
        let mut out = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut matched = false;
            for len in (1..=self.longest.min(words.len() - i)).rev() {
                if let Some(expansion) = table.get(&words[i..i + len]) {
                    out.push((i, i + len, expansion.as_slice()));
                    i += len;
                    matched = true;
                    break;
                }
            }
            if !matched {
                i += 1;
            }
        }
        out
    }
}

/// Detects English by its function words; French otherwise.
pub fn detect_lang(question_words: &[String]) -> Lang {
    let english = question_words
        .iter()
        .filter(|w| ENGLISH_MARKERS.contains(&w.as_str()))
        .count();
    let french = question_words
        .iter()
        .filter(|w| FRENCH_MARKERS.contains(&w.as_str()))
        .count();
    if english > french { Lang::En } else { Lang::Fr }
}

/// Spelling correction against the corpus's own words (SymSpell, edit distance 1 through
/// deletions): a word the corpus never uses becomes the most frequent corpus word one edit away.
#[derive(Debug, Default)]
pub struct Vocabulary {
    frequency: HashMap<String, u32>,
    deletions: HashMap<String, Vec<u32>>,
    words: Vec<String>,
}

fn deletions_of(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    (0..chars.len())
        .map(|skip| {
            chars
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, c)| *c)
                .collect()
        })
        .collect()
}

impl Vocabulary {
    /// Counts the folded words of the given texts.
    pub fn build<'a>(texts: impl Iterator<Item = &'a str>) -> Vocabulary {
        let mut frequency: HashMap<String, u32> = HashMap::new();
        for text in texts {
            for word in words(text) {
                if word.chars().count() >= 3 && !word.chars().all(|c| c.is_ascii_digit()) {
                    *frequency.entry(word).or_default() += 1;
                }
            }
        }
        let mut words: Vec<String> = frequency.keys().cloned().collect();
        words.sort();
        let mut deletions: HashMap<String, Vec<u32>> = HashMap::new();
        for (idx, word) in words.iter().enumerate() {
            if word.chars().count() < 4 {
                continue;
            }
            for deleted in deletions_of(word) {
                deletions.entry(deleted).or_default().push(idx as u32);
            }
        }
        Vocabulary {
            frequency,
            deletions,
            words,
        }
    }

    pub fn contains(&self, word: &str) -> bool {
        self.frequency.contains_key(word)
    }

    /// The corpus word one edit away from `word`, most frequent first, if `word` is unknown.
    pub fn correct(&self, word: &str) -> Option<&str> {
        if word.chars().count() < 4
            || self.contains(word)
            || word.chars().any(|c| c.is_ascii_digit())
        {
            return None;
        }
        let mut candidates: Vec<u32> = Vec::new();
        // A letter missing from the question: the word itself is a deletion of a corpus word.
        if let Some(found) = self.deletions.get(word) {
            candidates.extend(found);
        }
        for deleted in deletions_of(word) {
            // An extra letter in the question.
            if let Some(idx) = self.words.binary_search(&deleted).ok().map(|i| i as u32) {
                candidates.push(idx);
            }
            // A wrong or swapped letter: both share a deletion.
            if let Some(found) = self.deletions.get(&deleted) {
                candidates.extend(found.iter().filter(|idx| {
                    let candidate = &self.words[**idx as usize];
                    candidate.chars().count() == word.chars().count()
                        && within_one_substitution_or_swap(candidate, word)
                }));
            }
        }
        candidates
            .into_iter()
            .map(|idx| self.words[idx as usize].as_str())
            .max_by_key(|candidate| {
                (
                    self.frequency.get(*candidate).copied().unwrap_or(0),
                    std::cmp::Reverse(*candidate),
                )
            })
    }
}

fn within_one_substitution_or_swap(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let differences: Vec<usize> = (0..a.len()).filter(|i| a[*i] != b[*i]).collect();
    match differences.as_slice() {
        [_] => true,
        [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
        _ => false,
    }
}

/// A question made ready for search.
#[derive(Debug, Clone)]
pub struct Analysed {
    pub lang: Lang,
    /// Stems with their weights: the question's own (1.0), fillers (low), expansions (lower).
    pub terms: Vec<(String, f32)>,
    /// The question's meaningful words (fillers excluded), each as the stems that would show
    /// it is covered: its own stem and the stems of its lexicon expansion.
    pub core: Vec<CoreTerm>,
    /// Whether it asks how much, how many, how long, how old or when (a figure answers it).
    pub quantity: bool,
}

/// Folded words asking for an amount, a count, a duration, an age or a date.
const QUANTITY_WORDS: &[&str] = &[
    "combien", "prix", "cout", "coute", "coutent", "tarif", "montant", "delai", "delais", "duree",
    "quand", "age", "taux", "much", "many", "long", "cost", "costs", "price", "fee", "fees",
    "when", "old", "deadline",
];

/// One meaningful word (or translated phrase) of a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreTerm {
    /// Its stems; any of them in a passage covers the word. The first is the word's own.
    pub stems: Vec<String>,
}

/// Weight of a stem that comes from the lexicon rather than the question.
const EXPANSION_WEIGHT: f32 = 0.6;
/// Weight of an English word translated through the lexicon (it is the question's meaning).
const TRANSLATION_WEIGHT: f32 = 1.0;
const FILLER_WEIGHT: f32 = 0.25;

/// English endings and their French counterparts, longest first: "nationality" →
/// "nationalite", "temporary" → "temporaire", "obligatory" → "obligatoire", "inspector" →
/// "inspecteur", "economy" → "economie".
const COGNATE_ENDINGS: &[(&str, &str)] = &[
    ("ities", "ites"),
    ("ity", "ite"),
    ("aries", "aires"),
    ("ary", "aire"),
    ("ories", "oires"),
    ("ory", "oire"),
    ("ized", "ise"),
    ("ised", "ise"),
    ("ize", "iser"),
    ("ise", "iser"),
    ("ous", "eux"),
    ("ive", "if"),
    ("ics", "ique"),
    ("ic", "ique"),
    ("ors", "eurs"),
    ("or", "eur"),
    ("ies", "ies"),
    ("y", "ie"),
];

/// The French word of the corpus an English word regularly maps to, if any.
fn cognate(word: &str, vocabulary: &Vocabulary) -> Option<String> {
    if word.chars().count() < 5 {
        return None;
    }
    COGNATE_ENDINGS.iter().find_map(|(english, french)| {
        let stem = word.strip_suffix(english)?;
        let candidate = format!("{stem}{french}");
        (stem.chars().count() >= 3 && vocabulary.contains(&candidate)).then_some(candidate)
    })
}

/// Analyses a question.
pub fn analyse(
    question: &str,
    lexicon: &Lexicon,
    vocabulary: &Vocabulary,
    analyzer: &mut TextAnalyzer,
) -> Analysed {
    let question_words = words(question);
    let lang = detect_lang(&question_words);
    // (word, weight, group): words of one group cover the same meaning.
    let mut weighted: Vec<(String, f32, Option<usize>)> = Vec::new();
    let mut groups = 0usize;
    match lang {
        Lang::En => {
            let matches = lexicon.matches(&question_words, true);
            let mut i = 0;
            let mut next_match = matches.iter().peekable();
            while i < question_words.len() {
                if let Some((start, end, expansion)) = next_match.peek().copied()
                    && *start == i
                {
                    for word in *expansion {
                        weighted.push((word.clone(), TRANSLATION_WEIGHT, Some(groups)));
                    }
                    groups += 1;
                    i = *end;
                    next_match.next();
                    continue;
                }
                let word = &question_words[i];
                if !ENGLISH_STOP.contains(&word.as_str()) {
                    // An untranslated word may be French used in passing ("rupture
                    // conventionnelle"), a name or an English word the lexicon lacks. It is not
                    // spell-corrected: an English word one letter away from a French one
                    // ("card" → "tard") would change the question's meaning; but a regular
                    // cognate the corpus uses replaces it ("nationality" → "nationalite").
                    // An inflected form of a word the lexicon knows ("fined", "inherited",
                    // "mates") takes that word's translation.
                    if let Some(expansion) = lexicon.english_inflected(word) {
                        for french in expansion {
                            weighted.push((french.clone(), TRANSLATION_WEIGHT, Some(groups)));
                        }
                        groups += 1;
                        i += 1;
                        continue;
                    }
                    let word = if vocabulary.contains(word) {
                        word.clone()
                    } else {
                        cognate(word, vocabulary).unwrap_or_else(|| word.clone())
                    };
                    weighted.push((word, 1.0, Some(groups)));
                    groups += 1;
                }
                i += 1;
            }
        }
        Lang::Fr => {
            // Words the lexicon knows as they were typed ("appart", "alloc") are not corrected
            // into a nearby corpus word ("apport", "allo") before the lexicon sees them.
            let mut known = vec![false; question_words.len()];
            for (start, end, _) in lexicon.matches(&question_words, false) {
                known[start..end].iter_mut().for_each(|k| *k = true);
            }
            let mut group_of_word = Vec::with_capacity(question_words.len());
            for (word, known) in question_words.iter().zip(known) {
                let corrected = if known {
                    None
                } else {
                    vocabulary.correct(word).map(str::to_owned)
                };
                let word = corrected.unwrap_or_else(|| word.clone());
                let filler = FILLER.contains(&word.as_str());
                let group = (!filler).then(|| {
                    groups += 1;
                    groups - 1
                });
                group_of_word.push(group);
                weighted.push((word, if filler { FILLER_WEIGHT } else { 1.0 }, group));
            }
            let corrected_words: Vec<String> = weighted.iter().map(|(w, _, _)| w.clone()).collect();
            for (start, end, expansion) in lexicon.matches(&corrected_words, false) {
                // The expansion covers the meaning of the first meaningful word it replaces.
                let group = group_of_word[start..end].iter().flatten().next().copied();
                for word in expansion {
                    weighted.push((word.clone(), EXPANSION_WEIGHT, group));
                }
            }
        }
    }
    // Stem each word; keep, for each stem, its highest weight.
    let mut terms: Vec<(String, f32)> = Vec::new();
    let mut core: Vec<CoreTerm> = (0..groups)
        .map(|_| CoreTerm { stems: Vec::new() })
        .collect();
    for (word, weight, group) in weighted {
        for stem in stems(analyzer, &word) {
            if let Some(group) = group
                && !core[group].stems.contains(&stem)
            {
                core[group].stems.push(stem.clone());
            }
            match terms.iter_mut().find(|(s, _)| *s == stem) {
                Some((_, w)) => *w = w.max(weight),
                None => terms.push((stem, weight)),
            }
        }
    }
    core.retain(|term| !term.stems.is_empty());
    let quantity = question_words
        .iter()
        .any(|w| QUANTITY_WORDS.contains(&w.as_str()));
    Analysed {
        lang,
        terms,
        core,
        quantity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::french_analyzer;

    #[test]
    fn languages_are_told_apart() {
        assert_eq!(detect_lang(&words("how do I renew my passport")), Lang::En);
        assert_eq!(
            detect_lang(&words("comment renouveler mon passeport")),
            Lang::Fr
        );
        assert_eq!(detect_lang(&words("j'ai paumé ma CNI")), Lang::Fr);
    }

    #[test]
    fn spelling_is_corrected_against_the_corpus() {
        let vocabulary = Vocabulary::build(
            ["le renouvellement du passeport et de la carte d'identité"].into_iter(),
        );
        assert_eq!(
            vocabulary.correct("passeeport"),
            Some("passeport"),
            "extra letter"
        );
        assert_eq!(
            vocabulary.correct("paseport"),
            Some("passeport"),
            "missing letter"
        );
        assert_eq!(
            vocabulary.correct("passepotr"),
            Some("passeport"),
            "swapped letters"
        );
        assert_eq!(
            vocabulary.correct("identitr"),
            Some("identite"),
            "wrong letter"
        );
        assert_eq!(vocabulary.correct("passeport"), None, "known word");
        assert_eq!(vocabulary.correct("meteo"), None, "nothing close");
    }

    #[test]
    fn english_is_translated_and_french_expanded() {
        let lexicon = Lexicon::builtin();
        let vocabulary = Vocabulary::default();
        let mut analyzer = french_analyzer();
        let analysed = analyse(
            "How do I renew my residence permit?",
            &lexicon,
            &vocabulary,
            &mut analyzer,
        );
        assert_eq!(analysed.lang, Lang::En);
        let stems: Vec<&str> = analysed.terms.iter().map(|(s, _)| s.as_str()).collect();
        assert!(stems.contains(&"sejour"), "{stems:?}");
        assert!(stems.contains(&"titr"), "{stems:?}");

        let analysed = analyse("j'ai perdu ma CNI", &lexicon, &vocabulary, &mut analyzer);
        let stems: Vec<&str> = analysed.terms.iter().map(|(s, _)| s.as_str()).collect();
        assert!(stems.contains(&"identit"), "{stems:?}");
        let cni = analysed
            .core
            .iter()
            .find(|t| t.stems[0] == "cni")
            .expect("cni is a core word");
        assert!(
            cni.stems.contains(&"identit".to_owned()),
            "{:?}",
            analysed.core
        );
    }

    #[test]
    fn regular_english_cognates_map_to_corpus_words() {
        let text = "la nationalite, un titre temporaire, une visite obligatoire, l'inspecteur";
        let vocabulary = Vocabulary::build(std::iter::once(text));
        for (english, french) in [
            ("nationality", "nationalite"),
            ("temporary", "temporaire"),
            ("obligatory", "obligatoire"),
            ("inspector", "inspecteur"),
        ] {
            assert_eq!(cognate(english, &vocabulary).as_deref(), Some(french));
        }
        // Only words the corpus holds, and never a short word.
        assert_eq!(cognate("identity", &vocabulary), None);
        assert_eq!(cognate("city", &vocabulary), None);
    }

    #[test]
    fn the_general_lexicon_never_repeats_a_hand_picked_phrase() {
        // The general file is read last and would silently override the hand-picked entry.
        let picked = Lexicon::parse(include_str!("lexicon.txt"));
        let general = Lexicon::parse(include_str!("lexicon-general.txt"));
        for (mine, theirs) in [
            (&picked.english, &general.english),
            (&picked.french, &general.french),
        ] {
            let repeated: Vec<&Vec<String>> =
                mine.keys().filter(|k| theirs.contains_key(*k)).collect();
            assert!(repeated.is_empty(), "{repeated:?}");
        }
    }

    #[test]
    fn inflected_english_words_take_their_base_form_translation() {
        let lexicon = Lexicon::parse(
            "[en]\nfine => amende\nswap => echange\ninherit => heritage\nmate => ami\ncity => ville\n",
        );
        let french = |w: &str| lexicon.english_inflected(w).map(|e| e.join(" "));
        assert_eq!(french("fined").as_deref(), Some("amende"));
        assert_eq!(french("swapped").as_deref(), Some("echange"));
        assert_eq!(french("inherited").as_deref(), Some("heritage"));
        assert_eq!(french("mates").as_deref(), Some("ami"));
        assert_eq!(french("cities").as_deref(), Some("ville"));
        // A word the lexicon holds itself, or unrelated, is left to the other steps.
        assert_eq!(french("fine"), None);
        assert_eq!(french("swimming"), None);
    }
}
