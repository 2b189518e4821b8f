//! Personal-data redaction: one function for the logs, the audit records and the stored
//! assistant transcripts.
//!
//! Found and masked: e-mail addresses; French and international phone numbers; French
//! social-security numbers (NIR, key checked, Corsica's 2A/2B included); IBANs (ISO 13616
//! mod-97 checked); payment-card numbers (Luhn and network prefix checked, SIRET numbers
//! excluded); street addresses with a house number; people's names where clearly a person
//! (a civility title, an introduction such as "je m'appelle", or a known first name). Numbers
//! that fail their checksums, dates, amounts, postal codes, short service numbers (3975) and
//! request references stay.
//!
//! Hand-written on `regex`: what counts as personal data in a city's messages, and the
//! checksums that tell a NIR from a reference number, are the product's own rules; no Rust
//! crate covers French identifiers. Each detector proposes spans; on overlap the earlier kind
//! in [`Kind::ALL`] wins (an IBAN is not also a phone number; "12 rue Victor Hugo" is an
//! address, not a name).

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

/// A kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Email,
    Iban,
    Nir,
    Card,
    Phone,
    Address,
    Name,
}

impl Kind {
    /// Every kind, in the order that settles overlaps.
    pub const ALL: [Kind; 7] = [
        Kind::Email,
        Kind::Iban,
        Kind::Nir,
        Kind::Card,
        Kind::Phone,
        Kind::Address,
        Kind::Name,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Iban => "iban",
            Kind::Nir => "nir",
            Kind::Card => "card",
            Kind::Phone => "phone",
            Kind::Address => "address",
            Kind::Name => "name",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// What replaces a span of this kind.
    pub fn mark(self) -> &'static str {
        match self {
            Kind::Email => "[email]",
            Kind::Iban => "[iban]",
            Kind::Nir => "[nir]",
            Kind::Card => "[card]",
            Kind::Phone => "[phone]",
            Kind::Address => "[address]",
            Kind::Name => "[name]",
        }
    }
}

/// A piece of personal data: its kind and its byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// Returns `text` with personal data replaced by marks (`[email]`, `[phone]`, `[nir]`,
/// `[iban]`, `[card]`, `[address]`, `[name]`); borrows when there was nothing to redact.
pub fn redact(text: &str) -> Cow<'_, str> {
    let spans = find(text);
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for span in spans {
        out.push_str(&text[last..span.start]);
        out.push_str(span.kind.mark());
        last = span.end;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// The personal data in `text`: non-overlapping spans in text order.
pub fn find(text: &str) -> Vec<Span> {
    let mut taken: Vec<Span> = Vec::new();
    for kind in Kind::ALL {
        let candidates = match kind {
            Kind::Email => emails(text),
            Kind::Iban => ibans(text),
            Kind::Nir => nirs(text),
            Kind::Card => cards(text),
            Kind::Phone => phones(text),
            Kind::Address => addresses(text),
            Kind::Name => names(text),
        };
        for (start, end) in candidates {
            if taken.iter().all(|s| end <= s.start || start >= s.end) {
                taken.push(Span { kind, start, end });
            }
        }
    }
    taken.sort_by_key(|s| s.start);
    taken
}

/// Whether a letter or digit touches `index` (just before it, or just after it).
fn glued_at(text: &str, index: usize, before: bool) -> bool {
    if before {
        text[..index]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric())
    } else {
        text[index..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
    }
}

/// Matches of `pattern` not glued to letters or digits on either side.
fn bounded(pattern: &Regex, text: &str) -> Vec<(usize, usize)> {
    pattern
        .find_iter(text)
        .filter(|m| !glued_at(text, m.start(), true) && !glued_at(text, m.end(), false))
        .map(|m| (m.start(), m.end()))
        .collect()
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).collect()
}

// --- E-mail -----------------------------------------------------------------------------

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[a-z0-9._%+\-]+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}")
        .expect("e-mail pattern compiles")
});

fn emails(text: &str) -> Vec<(usize, usize)> {
    EMAIL
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect()
}

// --- IBAN ---------------------------------------------------------------------------------

static IBAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]{4}){2,7}(?:[ \-]?[A-Z0-9]{1,4})?")
        .expect("IBAN pattern compiles")
});

/// ISO 13616: move the first four characters to the end, letters to numbers, mod 97 = 1.
pub fn iban_is_valid(candidate: &str) -> bool {
    let compact: String = candidate
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if !(15..=34).contains(&compact.len()) || !compact.is_ascii() {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let value = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        let width = if value >= 10 { 100 } else { 10 };
        remainder = (remainder * width + value) % 97;
    }
    remainder == 1
}

fn ibans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for m in IBAN.find_iter(text) {
        // The pattern may swallow a following group (an amount, a word): try shorter endings.
        let found = &text[m.start()..m.end()];
        let mut ends: Vec<usize> = found
            .char_indices()
            .filter(|(_, c)| *c == ' ' || *c == '-')
            .map(|(i, _)| i)
            .collect();
        ends.push(found.len());
        if let Some(end) = ends
            .iter()
            .rev()
            .find(|&&end| iban_is_valid(&found[..end]) && !glued_at(text, m.start() + end, false))
        {
            out.push((m.start(), m.start() + end));
        }
    }
    out
}

// --- NIR ----------------------------------------------------------------------------------

static NIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b[1-478][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2[AB])[ .]?\d{3}[ .]?\d{3}[ .]?\d{2}\b",
    )
    .expect("NIR pattern compiles")
});

/// The NIR's key: 97 minus the first 13 digits modulo 97 (Corsica: 2A reads 19, 2B reads 18).
pub fn nir_is_valid(candidate: &str) -> bool {
    let compact = digits(candidate).to_ascii_uppercase();
    if compact.len() != 15 {
        return false;
    }
    let (body, key) = compact.split_at(13);
    let body = match &body[5..7] {
        "2A" => format!("{}19{}", &body[..5], &body[7..]),
        "2B" => format!("{}18{}", &body[..5], &body[7..]),
        _ => body.to_owned(),
    };
    let (Ok(number), Ok(key)) = (body.parse::<u64>(), key.parse::<u64>()) else {
        return false;
    };
    97 - number % 97 == key
}

fn nirs(text: &str) -> Vec<(usize, usize)> {
    bounded(&NIR, text)
        .into_iter()
        .filter(|(s, e)| nir_is_valid(&text[*s..*e]))
        .collect()
}

// --- Payment cards ------------------------------------------------------------------------

static CARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d(?:[ \-]?\d){12,18}\b").expect("card pattern compiles"));

/// Luhn's checksum.
pub fn luhn_is_valid(number: &str) -> bool {
    let digits: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() < 2 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether the length fits the network the first digits name (Visa, Mastercard, American
/// Express, Diners, Discover/UnionPay, JCB).
fn card_network_fits(number: &str) -> bool {
    let n = number.len();
    let prefix2: u32 = number[..2].parse().unwrap_or(0);
    let prefix4: u32 = number[..4].parse().unwrap_or(0);
    match number.as_bytes()[0] {
        b'4' => matches!(n, 13 | 16 | 19),
        b'5' => match prefix2 {
            51..=55 => n == 16,
            // Maestro.
            50 | 56..=58 => (12..=19).contains(&n),
            _ => false,
        },
        b'2' => (2221..=2720).contains(&prefix4) && n == 16,
        b'3' => match prefix2 {
            34 | 37 => n == 15,
            30 | 36 | 38 => n == 14,
            35 => (16..=19).contains(&n),
            _ => false,
        },
        b'6' => (12..=19).contains(&n),
        _ => false,
    }
}

fn cards(text: &str) -> Vec<(usize, usize)> {
    bounded(&CARD, text)
        .into_iter()
        .filter(|(s, e)| {
            let number = digits(&text[*s..*e]);
            // A company's SIRET or SIREN is Luhn-valid too, and not personal data.
            let before: Vec<char> = text[..*s].chars().collect();
            let context: String = before[before.len().saturating_sub(24)..]
                .iter()
                .collect::<String>()
                .to_lowercase();
            luhn_is_valid(&number)
                && card_network_fits(&number)
                && !context.contains("siret")
                && !context.contains("siren")
        })
        .collect()
}

// --- Phones -------------------------------------------------------------------------------

// French numbers: a trunk prefix (0, +33, 0033, optionally "(0)") then 1-9 and four pairs.
static PHONE_FR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:(?:\+|00)\s?33[\s.\-]?(?:\(0\)[\s.\-]?)?|0)[1-9](?:[\s.\-]?\d{2}){4}")
        .expect("phone pattern compiles")
});

// International numbers: + or 00, a country code, then groups of digits.
static PHONE_INTL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+|\b00)[1-9]\d{0,2}(?:[\s.\-]?\(0\))?(?:[\s.\-]?(?:\(\d{1,4}\)|\d{1,4})){2,6}")
        .expect("international phone pattern compiles")
});

/// A country code other than France's, right before a number.
static FOREIGN_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+|\b00)(?:[12457-9]\d{0,2}|3[0-24-9]\d?|6\d{0,2})[\s.\-]?$")
        .expect("foreign prefix pattern compiles")
});

/// Whether `index` follows a hyphen glued to letters or digits ("REQ-0044172819"): the digits
/// are a reference's, not a phone number.
fn in_reference(text: &str, index: usize) -> bool {
    let mut before = text[..index].chars().rev();
    before.next() == Some('-') && before.next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Words before a number that make it a bus, tram or metro line, not a house ("bus 91,
/// boulevard de l'Hôpital").
static LINE_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:bus|ligne|line|tram|t|m[ée]tro|rer|noctilien|n)\s*$")
        .expect("line pattern compiles")
});

fn phones(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (french, pattern) in [(true, &*PHONE_FR), (false, &*PHONE_INTL)] {
        for m in pattern.find_iter(text) {
            // "+225 07 58 21 64 30": a national number after a foreign country code.
            if french && FOREIGN_PREFIX.is_match(&text[..m.start()]) {
                continue;
            }
            let before = text[..m.start()].chars().next_back();
            let after = text[m.end()..].chars().next();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '+')
                || in_reference(text, m.start())
                || after.is_some_and(|c| c.is_ascii_alphanumeric())
            {
                continue;
            }
            let count = text[m.start()..m.end()]
                .chars()
                .filter(char::is_ascii_digit)
                .count();
            if (9..=15).contains(&count)
                && out.iter().all(|(s, e)| m.end() <= *s || m.start() >= *e)
            {
                out.push((m.start(), m.end()));
            }
        }
    }
    out
}

// --- Addresses ----------------------------------------------------------------------------

static ADDRESS_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b\d{1,4}(?:\s?[-–]\s?\d{1,4})?(?:\s?(?:bis|ter|quater|[a-d])\b)?,?\s+(?:rue|r|avenue|av\b\.?|bd|boulevard|pl|imp|all|sq|che|rte|crs|fg|fbg|vla|place|quai|all[ée]e|impasse|villa|cit[ée]|passage|square|chemin|route|cours|sentier|rond-point|esplanade|parvis|hameau|voie|ruelle|galerie|promenade|faubourg|chauss[ée]e|porte|mail|r[ée]sidence|street|road|lane|drive)(?:\.|\b)",
    )
    .expect("address pattern compiles")
});

static WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]*([\p{L}][\p{L}'’\-]*|\d{1,3}(?:er|e)?\b)").expect("word pattern compiles")
});

const PARTICLES: &[&str] = &[
    "de", "du", "des", "d'", "d’", "la", "le", "les", "l'", "l’", "et", "sur", "sous", "aux", "au",
    "à", "en", "the", "of",
];

fn is_particle(word: &str) -> bool {
    let lower = word.to_lowercase();
    PARTICLES.contains(&lower.as_str())
}

fn starts_upper(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

fn addresses(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for m in ADDRESS_HEAD.find_iter(text) {
        if glued_at(text, m.start(), true) || LINE_BEFORE.is_match(&text[..m.start()]) {
            continue;
        }
        // The street's name: particles and capitalised words; one lowercase word when the
        // writer used no capitals at all ("12 rue de rivoli").
        let mut end = m.end();
        let mut committed = None;
        loop {
            let rest = &text[end..];
            let Some(word) = WORD.captures(rest).and_then(|c| c.get(1)) else {
                break;
            };
            let token = word.as_str();
            // d'Alésia, l'Ourcq: an elided particle glued to a name.
            let (particle, name) = match token.find(['\'', '’']) {
                Some(i) if i <= 1 => (
                    true,
                    &token[i + token[i..].chars().next().map_or(1, char::len_utf8)..],
                ),
                _ => (false, token),
            };
            let token_end = end + word.end();
            // "73 avenue Jean Lolive à Pantin": the town is not the street.
            if matches!(token, "à" | "a" | "À")
                && WORD
                    .captures(&text[token_end..])
                    .and_then(|c| c.get(1))
                    .is_some_and(|w| starts_upper(w.as_str()))
                && committed.is_some()
            {
                break;
            }
            let next_word = WORD
                .captures(&text[token_end..])
                .and_then(|c| c.get(1))
                .map(|w| w.as_str());
            // "3 rue des Amandiers et au 11 rue…", "au 58 rue Montorgueil le 3 décembre": a
            // number after these words starts another address or a date.
            if matches!(
                token.to_lowercase().as_str(),
                "et" | "au" | "aux" | "le" | "la" | "à" | "a"
            ) && next_word.is_some_and(|w| {
                w.starts_with(|c: char| c.is_ascii_digit())
                    || (matches!(w, "au" | "le" | "aux") && committed.is_some())
            }) {
                break;
            }
            if !particle && is_particle(token) {
                end = token_end;
                continue;
            }
            // A number belongs to the name only before a capitalised word or as a year
            // ("rue du 8 Mai 1945", "place du 18 Juin 1940").
            let number = name.chars().all(|c| c.is_ascii_digit());
            let number_in_name = number && (next_word.is_some_and(starts_upper) || name.len() == 4);
            if starts_upper(name) || number_in_name {
                end = token_end;
                committed = Some(end);
                continue;
            }
            if particle && name.is_empty() {
                end = token_end;
                continue;
            }
            if committed.is_none() && name.chars().count() > 2 {
                end = token_end;
                committed = Some(end);
            }
            break;
        }
        let end = committed.unwrap_or(m.end());
        let value = text[m.start()..end].trim_end_matches(['.', ',']);
        out.push((m.start(), m.start() + value.len()));
    }
    out
}

// --- Names --------------------------------------------------------------------------------

static FIRST_NAMES: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("../data/first-names.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(fold)
        .collect()
});

static TITLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:M\.|Mme|Mlle|Monsieur|Madame|Mademoiselle|Dr\.?|Docteur|Docteure|Maître|Me|Pr\.?|Professeur|Mr\.?|Mrs\.?|Ms\.?|Miss|Sir|MME|MLLE|MONSIEUR|MADAME|MADEMOISELLE)\s+")
        .expect("title pattern compiles")
});

static INTRODUCTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:je m'appelle|je m’appelle|moi c'est|moi c’est|mon nom est|my name is|sign[ée]|de la part de|titulaire|au nom de|nom\s?:|nom et pr[ée]nom\s?:|pr[ée]nom et nom\s?:|nom,? pr[ée]nom\s?:|b[ée]n[ée]ficiaire\s?:?|beneficiary:?|account holder:?|full name:?|kontoinhaber:?|intestat[oa] a|titular:?|me llamo|mi nombre es|ich hei(?:ß|ss)e|mein name ist|kontoinhaberin:?|in my name,?|[àa] mon nom,?|name on (?:the )?card:?|nom sur la carte\s?:?|(?:please )?ask for|c'est bien moi,|c’est bien moi,)\s+")
        .expect("introduction pattern compiles")
});

/// Cues after which a capitalised word is a person's name even if no lexicon knows it: "this
/// is Ravi Kumar", "sonnette Guérin".
static CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:this is|sonnette|interphone|bo[iî]te aux lettres|signed|regards,|cordialement,|thanks,|thank you,|merci,|cheers,|bien [àa] vous,|(?:ma |mon |my |notre |our |la |le |the |l'|l’)(?:voisine|voisin|neighbou?r|[ée]tudiante?|student|locataire|tenant|colocataire|flatmate|coll[èe]gue|colleague|cousine?|cousin|ni[èe]ce|neveu|nephew|tante|oncle|uncle|aunt|belle-m[èe]re|beau-p[èe]re|fille|fils|daughter|son),)\s+")
        .expect("cue pattern compiles")
});

/// Someone introducing themselves with what they are: "I'm Oisín, the new tenant", "je suis
/// Wanjiru, la locataire du 3e".
static SELF_APPOSITION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i:i'm|i’m|i am|je suis|moi c'est|moi c’est)[ \t]+(\p{Lu}\p{Ll}[\p{L}'’\-]*(?:[ \t]+\p{Lu}[\p{L}'’\-]+)?),[ \t]+(?i:the|your|a|an|le|la|l'|l’|votre|ton|un|une)\b")
        .expect("self apposition pattern compiles")
});

/// Labels of forms and notes after which two or three capitalised words are a person.
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:agent|agente|contact|demandeur|demandeuse|r[ée]f[ée]rent|r[ée]f[ée]rente|interlocuteur|interlocutrice|d[ée]clarant|d[ée]clarante|signal[ée] par|requérant|requérante|usager|usagère|b[ée]n[ée]ficiaire|titulaire|parent|t[ée]moin)[ \t]*:[ \t]*")
        .expect("label pattern compiles")
});

/// Cues after which only a known first name is taken, in any case: "yo c ibrahim", "c'est
/// Julie", "I'm Sophie".
static WEAK_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[\s,.;!?])(?:c|c'est|c’est|ici|je suis|i'm|i’m|i am|it's|it’s)\s+")
        .expect("weak cue pattern compiles")
});

/// Words after a name that make it a place: "Jules Joffrin metro station".
const PLACE_AFTER: &[&str] = &[
    "metro", "métro", "station", "hospital", "school", "college", "street", "road", "avenue",
    "square", "park", "bridge", "airport", "stadium", "library", "museum", "gare", "market",
    "pavilion", "garden", "gardens", "hall", "centre", "center", "pool",
];

/// Cities that are also first names, when they follow a preposition of place: "à Milan".
const CITY_NAMES: &[&str] = &[
    "milan",
    "florence",
    "nancy",
    "valence",
    "lourdes",
    "orange",
    "victoria",
    "sydney",
    "vienne",
    "austin",
    "charlotte",
    "adelaide",
    "alexandrie",
    "lorient",
    "laval",
    "auxerre",
];

static NAME_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]?((?:de la|de|du|des|der|den|ter|van|von|da|di|dos|das|do|del|della|Le|La|le|la|ben|bin|ibn|el|al|d'|d’|N'|N’|Mc|O')[ \t]?\p{Lu}[\p{L}'’\-]*|\p{Lu}[\p{L}'’]*(?:-\p{Lu}?[\p{L}'’]+)*)")
        .expect("name word pattern compiles")
});

/// Words before a name that make it a place or an institution, not a person.
const PLACE_WORDS: &[&str] = &[
    "rue",
    "avenue",
    "boulevard",
    "bd",
    "place",
    "quai",
    "allée",
    "allee",
    "impasse",
    "villa",
    "cité",
    "cite",
    "passage",
    "square",
    "pont",
    "porte",
    "lycée",
    "lycee",
    "collège",
    "college",
    "école",
    "ecole",
    "hôpital",
    "hopital",
    "métro",
    "metro",
    "station",
    "gare",
    "stade",
    "parc",
    "jardin",
    "gymnase",
    "piscine",
    "médiathèque",
    "bibliothèque",
    "centre",
    "institut",
    "fondation",
    "musée",
    "musee",
    "salle",
    "résidence",
    "residence",
    "église",
    "eglise",
    "saint",
    "sainte",
    "st",
    "ste",
    "crèche",
    "creche",
    "maison",
    "espace",
    "théâtre",
    "theatre",
    "cinéma",
    "campus",
    "université",
    "universite",
    "clinique",
    "foyer",
    "marché",
    "marche",
    "boulangerie",
    "pharmacie",
    "magasin",
    "restaurant",
    "brasserie",
    "halle",
    "mairie",
    "conservatoire",
    "boulevards",
    "chemin",
    "cours",
    "promenade",
    "faubourg",
    "avenues",
    "rues",
    "hôtel",
    "hotel",
    "bâtiment",
    "groupe",
    "scolaire",
    "association",
    "colonel",
    "général",
    "general",
    "maréchal",
    "marechal",
    "commandant",
    "capitaine",
    "président",
    "president",
    "abbé",
    "abbe",
    "cardinal",
    "san",
    "santa",
    "são",
    "sao",
    "los",
    "las",
    "île",
    "ile",
    "îles",
    "iles",
    "island",
    "isle",
];

/// Function words of texts written in capitals, which end a name: "MME BRIGITTE POUILLARD AU
/// 64 AV. SECRETAN".
const CAPS_STOP: &[&str] = &[
    "AU", "AUX", "ET", "EST", "À", "A", "SUR", "DANS", "POUR", "AVEC", "QUI", "QUE", "JE", "IL",
    "ELLE", "MON", "MA", "MES", "NOUS", "VOUS", "ON", "PAR", "EN", "AND", "IS", "THE", "IN", "AT",
    "TEL", "TÉL", "NÉ", "NÉE", "NIR", "IBAN", "NE", "N'A", "N’A", "PEUT", "PAS", "SE", "VA",
    "DOIT", "VEUT", "SERA", "SONT", "ONT",
];

/// Capitalised words that are not names, before a first name: "Bonjour Kelly", "Colonel
/// Fabien" (a metro station).
const NOT_A_SURNAME: &[&str] = &[
    "bonjour",
    "bonsoir",
    "salut",
    "merci",
    "hello",
    "hi",
    "dear",
    "cher",
    "chère",
    "hier",
    "demain",
    "ce",
    "cette",
    "mon",
    "ma",
    "mes",
    "mais",
    "et",
    "ou",
    "donc",
    "car",
    "avec",
    "pour",
    "par",
    "chez",
    "selon",
    "contact",
    "objet",
    "re",
    "tél",
    "tel",
    "mail",
    "email",
    "note",
    "agent",
    "caller",
    "client",
    "usager",
    "de",
    "from",
    "to",
    "à",
    "le",
    "la",
    "les",
    "un",
    "une",
    "the",
    "a",
    "an",
    "this",
    "that",
    "yes",
    "no",
    "oui",
    "non",
    "ok",
    "madame",
    "monsieur",
    "voir",
    "via",
    "nom",
    "prénom",
    "name",
    "paris",
    "france",
    "cordialement",
    "regards",
    "thanks",
    "signé",
    "signed",
    "urgent",
    "important",
    "info",
    "rappel",
];

/// The name-like word right before `start` (skipping spaces only), if it can be the first part
/// of the same name: an unknown capitalised word ("Siobhan Kelly") or a surname in capitals
/// ("TRAN Duc Minh", "LEMERCIER Chantal").
fn name_before(text: &str, start: usize) -> Option<usize> {
    let before = &text[..start];
    let trimmed = before.trim_end_matches([' ', '\t']);
    if trimmed.len() == before.len() {
        return None;
    }
    let word_start = trimmed
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphabetic() || *c == '-' || *c == '\'' || *c == '’')
        .last()
        .map(|(i, _)| i)?;
    let word = &trimmed[word_start..];
    // "L'agent Fabrice Ledoux": an elided article, not a surname ("N'Diaye" is one).
    if let Some(i) = word.find(['\'', '’'])
        && !word[i..].chars().nth(1).is_some_and(char::is_uppercase)
    {
        return None;
    }
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    let all_caps = word.chars().all(|c| !c.is_lowercase());
    let ok = starts_upper(word)
        && letters >= 2
        && !NOT_A_SURNAME.contains(&word.to_lowercase().as_str())
        && !CAPS_STOP.contains(&word)
        && !PLACE_WORDS.contains(&fold(word).as_str())
        && !FIRST_NAMES.contains(&fold(word))
        && (!all_caps || letters >= 3);
    ok.then_some(word_start)
}

/// Up to three name words after `start`; the end of the last one.
fn name_words(text: &str, start: usize, max: usize) -> Option<usize> {
    let mut end = start;
    let mut count = 0;
    while count < max {
        let Some(found) = NAME_WORD.captures(&text[end..]).and_then(|c| c.get(1)) else {
            break;
        };
        let word = found.as_str();
        // A capitalised common word after the name (a new sentence, or a word of a text in
        // capitals) stops it.
        if count > 0
            && (matches!(
                word,
                "Le" | "La" | "Les" | "Et" | "Je" | "Il" | "Elle" | "Vous" | "Nous"
            ) || CAPS_STOP.contains(&word))
        {
            break;
        }
        end += found.end();
        count += 1;
    }
    (count > 0).then_some(end)
}

/// Whether the word before `start` (particles skipped) names a street, a place or an
/// institution: "lycée Jean Moulin", "de l'avenue Jean Jaurès", "métro Charles de Gaulle".
fn preceded_by_place(text: &str, start: usize) -> bool {
    // After punctuation a new phrase starts: "du conservatoire, Kofi Mensah".
    if text[..start]
        .trim_end()
        .ends_with([',', '.', ';', ':', '!', '?', ')', '\n'])
    {
        return false;
    }
    let before = text[..start].to_lowercase();
    before
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .rev()
        .find(|w| !matches!(*w, "de" | "du" | "des" | "la" | "le" | "les" | "l" | "d"))
        .is_some_and(|w| PLACE_WORDS.contains(&w))
}

/// Whether the word after `end` makes the name before it a place.
fn followed_by_place(text: &str, end: usize) -> bool {
    text[end..]
        .split_whitespace()
        .next()
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_alphabetic())
                .to_lowercase()
        })
        .is_some_and(|w| PLACE_AFTER.contains(&w.as_str()))
}

/// Whether what follows a name after a preposition makes it a town: "à Albert, dans la Somme",
/// "à Albert (80)".
fn followed_by_region(text: &str, end: usize) -> bool {
    let after = text[end..].to_lowercase();
    [", dans ", " dans le ", " dans la ", ", en ", ", in ", " ("]
        .iter()
        .any(|r| after.starts_with(r))
}

/// Whether a name ends with a cardinal point: "Caroline du Nord", "Dakota du Sud".
fn names_a_region(name: &str) -> bool {
    let name = name.to_lowercase();
    [
        " du nord",
        " du sud",
        " de l'est",
        " de l'ouest",
        " de l’est",
        " de l’ouest",
    ]
    .iter()
    .any(|r| name.ends_with(r))
}

/// Whether the word before `start` is a preposition of place ("à Milan", "in Milan").
fn preceded_by_preposition(text: &str, start: usize) -> bool {
    text[..start]
        .split_whitespace()
        .next_back()
        .is_some_and(|w| {
            matches!(
                w.to_lowercase().as_str(),
                "à" | "a" | "in" | "at" | "from" | "to" | "de" | "vers" | "près" | "sur" | "en"
            )
        })
}

static CAPITALISED_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\p{Lu}[\p{L}'’\-]+)[ \t]+(\p{Lu}[\p{L}'’\-]+)\b")
        .expect("capitalised pair pattern compiles")
});

/// Lower case without diacritics, for first-name lookups ("Lucía" is "lucia").
fn fold(word: &str) -> String {
    word.to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => 'a',
            'ç' => 'c',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            other => other,
        })
        .collect()
}

/// Whether a capitalised word may be part of a person's name (not a common word that precedes
/// names, nor a street, place or institution word).
fn may_be_name_word(word: &str) -> bool {
    !NOT_A_SURNAME.contains(&word.to_lowercase().as_str())
        && !PLACE_WORDS.contains(&fold(word).as_str())
}

fn names(text: &str) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let push = |start: usize, end: usize, out: &mut Vec<(usize, usize)>| {
        let value = text[start..end].trim_end_matches(['.', ',', '\'', '’', ' ']);
        let end = start + value.len();
        // "Cordialement, Le service…": a particle alone is no name.
        let only_particle = !value.contains(char::is_whitespace) && is_particle(value);
        if end > start && !only_particle && out.iter().all(|(s, e)| end <= *s || start >= *e) {
            out.push((start, end));
        }
    };
    // A civility title and the name after it, title included.
    for m in TITLE.find_iter(text) {
        // "Monsieur le Directeur", "Madame la Maire": a function, not a person's name.
        let next = text[m.end()..].split_whitespace().next().unwrap_or("");
        if matches!(next, "le" | "la" | "les" | "l'" | "the") || next.starts_with("l'") {
            continue;
        }
        if let Some(end) = name_words(text, m.end(), 3) {
            push(m.start(), end, &mut out);
        }
    }
    // An introduction: the name after it (lowercase accepted: residents write "je m'appelle
    // sophie").
    for m in INTRODUCTION.find_iter(text) {
        if let Some(end) = name_words(text, m.end(), 3) {
            push(m.end(), end, &mut out);
        } else if let Some(word) = text[m.end()..].split_whitespace().next() {
            let word = word.trim_end_matches(|c: char| !c.is_alphabetic());
            if FIRST_NAMES.contains(&fold(word)) {
                push(m.end(), m.end() + word.len(), &mut out);
            }
        }
    }
    for m in CUE.find_iter(text) {
        if let Some(end) = name_words(text, m.end(), 3) {
            push(m.end(), end, &mut out);
        }
    }
    for m in SELF_APPOSITION.captures_iter(text) {
        let name = m.get(1).expect("group 1");
        if name.as_str().split_whitespace().all(may_be_name_word) {
            push(name.start(), name.end(), &mut out);
        }
    }
    // A form's or a note's label: "Agent : Aïssata Kanté", "Demandeur : …".
    for m in LABEL.find_iter(text) {
        let Some(end) = name_words(text, m.end(), 3) else {
            continue;
        };
        let plausible = text[m.end()..end].split_whitespace().all(may_be_name_word);
        // A name stands alone after its label ("Agent : Can I have…" is a dialogue).
        let alone = text[end..]
            .trim_start_matches([' ', '\t'])
            .chars()
            .next()
            .is_none_or(|c| ",.;:()\n-–".contains(c));
        if plausible && alone && text[m.end()..end].contains(char::is_whitespace) {
            push(m.end(), end, &mut out);
        }
    }
    for m in WEAK_CUE.find_iter(text) {
        let Some(word) = text[m.end()..].split_whitespace().next() else {
            continue;
        };
        let word = word.trim_end_matches(|c: char| !c.is_alphabetic());
        if !word.is_empty() && FIRST_NAMES.contains(&fold(word)) {
            let end = name_words(text, m.end(), 3).unwrap_or(m.end() + word.len());
            push(m.end(), end, &mut out);
        }
    }
    // Two capitalised words that are the parts of an e-mail address in the same text:
    // "Xiaoling Wu · xiaoling.wu@example.cn".
    let parts: HashSet<String> = EMAIL
        .find_iter(text)
        .flat_map(|m| {
            let local = m.as_str().split('@').next().unwrap_or_default();
            local
                .split(['.', '_', '-'])
                .map(|p| p.trim_end_matches(|c: char| c.is_ascii_digit()))
                .filter(|p| p.chars().count() >= 2)
                .map(fold)
                .collect::<Vec<_>>()
        })
        .collect();
    if !parts.is_empty() {
        for pair in CAPITALISED_PAIR.captures_iter(text) {
            let (first, second) = (&pair[1], &pair[2]);
            let whole = pair.get(0).expect("a match");
            if parts.contains(&fold(first))
                && parts.contains(&fold(second))
                && !preceded_by_place(text, whole.start())
            {
                // "PHAN Thi Lan" for phan.thi.lan@…: the next words that are parts too.
                let mut end = whole.end();
                while let Some(next) = NAME_WORD.captures(&text[end..]).and_then(|c| c.get(1)) {
                    if !parts.contains(&fold(next.as_str())) {
                        break;
                    }
                    end += next.end();
                }
                push(whole.start(), end, &mut out);
            }
        }
    }
    // The display name of an address: "Capucine de Montfort <capucine@example.fr>".
    for m in DISPLAY_NAME.captures_iter(text) {
        let name = m.get(1).expect("group 1");
        push(name.start(), name.end(), &mut out);
    }
    // A signature: a line that is only two or three capitalised words, after a sentence.
    for m in SIGNATURE.captures_iter(text) {
        let name = m.get(1).expect("group 1");
        let words: Vec<&str> = name.as_str().split_whitespace().collect();
        if words.iter().all(|w| may_be_name_word(w)) {
            push(name.start(), name.end(), &mut out);
        }
    }
    // The reply to a question asking for the name, in a transcript: "Et votre nom ?\nUsager :
    // Lý Thị Hằng."
    for m in NAME_REPLY.find_iter(text) {
        if let Some(end) = name_words(text, m.end(), 4) {
            push(m.end(), end, &mut out);
        }
    }
    // A known first name, capitalised, with the surname after it if there is one.
    let mut skip_until = 0;
    let mut offset = 0;
    for token in text.split_inclusive(|c: char| c.is_whitespace() || ",;:()/\"«»'’".contains(c))
    {
        let start = offset;
        offset += token.len();
        let word = token.trim_end_matches(|c: char| !c.is_alphanumeric());
        let word = word.trim_start_matches(|c: char| !c.is_alphanumeric());
        if word.is_empty() || !starts_upper(word) {
            continue;
        }
        let lead = token.find(word).unwrap_or(0);
        let word_start = start + lead;
        let lower = fold(word);
        let first = FIRST_NAMES.contains(&lower)
            || lower
                .split_once('-')
                .is_some_and(|(a, b)| FIRST_NAMES.contains(a) && FIRST_NAMES.contains(b));
        if !first || word_start < skip_until {
            continue;
        }
        let end = name_words(text, word_start, 4).unwrap_or(word_start + word.len());
        let alone = end == word_start + word.len();
        let place = preceded_by_place(text, word_start);
        if place
            || followed_by_place(text, end)
            || (alone
                && (CITY_NAMES.contains(&lower.as_str()) || followed_by_region(text, end))
                && preceded_by_preposition(text, word_start))
            || names_a_region(&text[word_start..end])
        {
            // "collège Aimé Césaire": the whole name is the place's, not only its first word;
            // "station Pierre et Marie Curie": and the name joined to it.
            skip_until = end;
            if place && text[end..].starts_with(" et ") {
                let joined = end + " et ".len();
                if let Some(after) = name_words(text, joined, 3) {
                    skip_until = after;
                }
            }
            continue;
        }
        // Up to two words back: "NGUYEN Thi Lan", "Siobhan Kelly".
        let mut start = word_start;
        for _ in 0..2 {
            match name_before(text, start).filter(|&s| !preceded_by_place(text, s)) {
                Some(earlier) => start = earlier,
                None => break,
            }
        }
        push(start, end, &mut out);
    }
    enumerated_names(text, &mut out);
    out
}

/// A reply to a question asking for a name, in a transcript.
static NAME_REPLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:votre|ton|your) (?:nom(?: complet| de famille)?|name|full name)\b[^\n]*\n[ \t]*(?:usager|usag[èe]re|user|r[ée]sident|resident|client|appelant|caller|habitant|administr[ée])[ \t]*:[ \t]*")
        .expect("name reply pattern compiles")
});

/// Two or three capitalised words: an item of a list of people.
static LIST_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\p{Lu}[\p{L}'’\-]+(?:[ \t]+\p{Lu}[\p{L}'’\-]+){1,2}")
        .expect("list item pattern compiles")
});

/// In a list ("Zhou Xinyi, Guo Ling, Hery Rakotomalala et Olena Kovalenko"), items shaped like
/// the names found in it are names too.
fn enumerated_names(text: &str, out: &mut Vec<(usize, usize)>) {
    let items: Vec<(usize, usize)> = LIST_ITEM
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect();
    let mut chain: Vec<(usize, usize)> = Vec::new();
    let mut chains = Vec::new();
    for item in items {
        let joined = chain.last().is_some_and(|&(_, end)| {
            matches!(
                text[end..item.0].trim(),
                "," | "et" | "and" | "&" | ", et" | ", and" | ";"
            )
        });
        if !joined && !chain.is_empty() {
            chains.push(std::mem::take(&mut chain));
        }
        chain.push(item);
    }
    chains.push(chain);
    for chain in chains.into_iter().filter(|c| c.len() >= 2) {
        let named = chain
            .iter()
            .filter(|(s, e)| out.iter().any(|(os, oe)| os == s && oe == e))
            .count();
        if named == 0 {
            continue;
        }
        for &(start, end) in &chain {
            let words: Vec<&str> = text[start..end].split_whitespace().collect();
            let plausible = words
                .iter()
                .all(|w| may_be_name_word(w) && !CAPS_STOP.contains(w))
                && !preceded_by_place(text, start);
            if plausible && out.iter().all(|(s, e)| end <= *s || start >= *e) {
                out.push((start, end));
            }
        }
    }
}

static DISPLAY_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\p{Lu}[\p{L}'’\-]+(?:[ \t]+(?:(?:de|du|des|van|von|der|le|la|da|di|dos|el|ben)[ \t]+)?\p{Lu}[\p{L}'’\-]+){1,3})[ \t]*<[^<>@\s]+@[^<>\s]+>")
        .expect("display name pattern compiles")
});

static SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)(?:[.!?][ \t]+|^(?:[A-Z][a-z]+:[ \t]*)?)(\p{Lu}\p{Ll}[\p{L}'’\-]*(?:[ \t]+(?:(?:van|von|de|der|den|du|da|di|del|della|le|la)[ \t]+)?\p{Lu}[\p{L}'’\-]+){1,2})\.?[ \t]*$")
        .expect("signature pattern compiles")
});

#[cfg(test)]
mod tests {
    use super::*;

    /// The names found in `text`.
    fn names(text: &str) -> Vec<String> {
        kinds(text)
            .into_iter()
            .filter(|(k, _)| *k == Kind::Name)
            .map(|(_, v)| v)
            .collect()
    }

    fn kinds(text: &str) -> Vec<(Kind, String)> {
        find(text)
            .into_iter()
            .map(|s| (s.kind, text[s.start..s.end].to_owned()))
            .collect()
    }

    #[test]
    fn checksums_decide_for_numbers() {
        assert!(iban_is_valid("FR76 3000 6000 0112 3456 7890 189"));
        assert!(!iban_is_valid("FR76 3000 6000 0112 3456 7890 188"));
        assert!(luhn_is_valid("4970 1012 3456 7890") == luhn_is_valid("4970101234567890"));
        assert!(luhn_is_valid("4111 1111 1111 1111"));
        assert!(!luhn_is_valid("4111 1111 1111 1112"));
        // 1 84 12 75 108 123: 97 - (1841275108123 mod 97).
        let body = 1_841_275_108_123u64;
        let key = 97 - body % 97;
        assert!(nir_is_valid(&format!("1 84 12 75 108 123 {key:02}")));
        assert!(!nir_is_valid(&format!(
            "1 84 12 75 108 123 {:02}",
            (key + 1) % 97
        )));
    }

    #[test]
    fn every_kind_is_found_and_masked() {
        let text = "Mme Martin (marie.martin@example.org, 06 12 34 56 78) habite 12 rue de Rivoli, 75004 Paris ; IBAN FR76 3000 6000 0112 3456 7890 189, carte 4111 1111 1111 1111.";
        assert_eq!(
            redact(text),
            "[name] ([email], [phone]) habite [address], 75004 Paris ; IBAN [iban], carte [card]."
        );
    }

    #[test]
    fn what_is_not_personal_data_stays() {
        for text in [
            "Le trottoir de la rue de Rivoli est défoncé depuis le 12/03/2026.",
            "Demande n° 2026-004512 : 35 € réglés, appelez le 3975.",
            "SIRET 732 829 320 00074, lycée Jean Moulin, métro Charles de Gaulle",
            "carte 4111 1111 1111 1112 refusée",
            "GET /readyz 200 in 0.3 ms, 3975 requests, service 3949",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
            assert!(matches!(redact(text), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn names_from_cues_and_e_mails_and_places_named_after_people() {
        assert_eq!(names("salut c karim, le lampadaire est HS"), ["karim"]);
        assert_eq!(
            names("Hello, this is Anjali Raman from flat 3"),
            ["Anjali Raman"]
        );
        assert_eq!(
            names("code porte 1234, sonnette Lefèvre-Ngo"),
            ["Lefèvre-Ngo"]
        );
        assert_eq!(
            names("signalé par Mme Ilse Van der Berg"),
            ["Mme Ilse Van der Berg"]
        );
        assert_eq!(
            names("Mingzhu Zhao — mingzhu.zhao@example.org — parent d'élève"),
            ["Mingzhu Zhao"]
        );
        for text in [
            "the lift at Gabriel Péri metro station is broken",
            "fuite devant l'école Louise Michel, côté cour",
            "je suis à Florence jusqu'à lundi",
            "retour de San Antonio prévu demain",
        ] {
            assert_eq!(names(text), Vec::<String>::new(), "{text}");
        }
    }

    #[test]
    fn names_in_capitals_signatures_headers_and_forms() {
        assert_eq!(
            names("Demandeur : NGUYEN Thi Lan, né en 1979"),
            ["NGUYEN Thi Lan"]
        );
        assert_eq!(
            names("JE SUIS MONSIEUR KARIM BELHADJ ET JE SIGNALE UN DEPOT"),
            ["MONSIEUR KARIM BELHADJ"]
        );
        assert_eq!(
            names("De : Aurèle du Plessis <aurele.duplessis@example.fr>"),
            ["Aurèle du Plessis"]
        );
        assert_eq!(
            names("The bin was not emptied again this week.\nMairead Quinlan"),
            ["Mairead Quinlan"]
        );
        assert_eq!(
            names("Nom et prénom : Ostrowski Bartek"),
            ["Ostrowski Bartek"]
        );
        assert_eq!(
            names("ecrire a IFEOMA.OKAFOR88@EXAMPLE.COM pour Ifeoma Okafor"),
            ["Ifeoma Okafor"]
        );
        for text in [
            "Monsieur le Directeur, je conteste l'amende.",
            "Madame la Maire, merci pour le nouveau square.",
            "sortie Colonel Fabien fermée ce week-end",
            "L'agent Fabrice est passé ce matin",
        ] {
            assert!(
                names(text).iter().all(|n| !n.contains("Directeur")
                    && !n.contains("Maire")
                    && !n.contains("Colonel")
                    && !n.contains("L'agent")),
                "{text}: {:?}",
                names(text)
            );
        }
        assert_eq!(
            names("sortie Colonel Fabien fermée ce week-end"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn foreign_numbers_and_abbreviated_streets() {
        assert_eq!(
            kinds("mon numéro ivoirien +225 05 44 21 87 60"),
            vec![(Kind::Phone, "+225 05 44 21 87 60".to_owned())]
        );
        assert_eq!(
            kinds("au 8 r. des Envierges à Paris"),
            vec![(Kind::Address, "8 r. des Envierges".to_owned())]
        );
        assert_eq!(
            kinds("au 40 avenue Gabriel Péri à Montreuil"),
            vec![(Kind::Address, "40 avenue Gabriel Péri".to_owned())]
        );
    }

    #[test]
    fn la_poste_street_abbreviations_and_number_ranges() {
        for (text, address) in [
            ("livraison au 4 imp. des Lilas", "4 imp. des Lilas"),
            ("rdv 17 pl. Denfert-Rochereau", "17 pl. Denfert-Rochereau"),
            (
                "chez nous, 12-14 rue des Vinaigriers",
                "12-14 rue des Vinaigriers",
            ),
            ("au 3 sq. Trudaine", "3 sq. Trudaine"),
        ] {
            assert_eq!(
                kinds(text),
                vec![(Kind::Address, address.to_owned())],
                "{text}"
            );
        }
        assert_eq!(kinds("j'ai acheté 2 pass Navigo"), vec![]);
    }

    #[test]
    fn international_numbers_with_an_area_code_in_brackets() {
        assert_eq!(
            kinds("call +1 (212) 555-0147 after 6pm"),
            vec![(Kind::Phone, "+1 (212) 555-0147".to_owned())]
        );
    }

    #[test]
    fn french_phone_numbers_in_every_usual_form() {
        for phone in [
            "06 12 34 56 78",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "0612345678",
            "+33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "0033 6 12 34 56 78",
            "+44 20 7946 0958",
        ] {
            let text = format!("appelez le {phone} svp");
            assert_eq!(
                kinds(&text),
                vec![(Kind::Phone, phone.to_owned())],
                "{phone}"
            );
        }
    }

    #[test]
    fn addresses_keep_their_street_name_and_drop_the_postcode() {
        assert_eq!(
            kinds("au 3 bis avenue Jean Jaurès, 75019"),
            vec![(Kind::Address, "3 bis avenue Jean Jaurès".into())]
        );
        assert_eq!(
            kinds("j'habite 45, boulevard Saint-Germain depuis 2020"),
            vec![(Kind::Address, "45, boulevard Saint-Germain".into())]
        );
        assert_eq!(
            kinds("devant le 8 rue de la roquette il y a un trou"),
            vec![(Kind::Address, "8 rue de la roquette".into())]
        );
    }

    #[test]
    fn two_addresses_in_a_row_and_lines_of_buses_are_told_apart() {
        assert_eq!(
            kinds("livrer au 5 rue des Pyrénées et au 9 rue Ramponeau demain"),
            vec![
                (Kind::Address, "5 rue des Pyrénées".into()),
                (Kind::Address, "9 rue Ramponeau".into())
            ]
        );
        assert_eq!(
            kinds("travaux devant le 20 rue Oberkampf le 4 janvier"),
            vec![(Kind::Address, "20 rue Oberkampf".into())]
        );
        assert_eq!(
            kinds("la plaque du 8 rue du 4 Septembre est tombée"),
            vec![(Kind::Address, "8 rue du 4 Septembre".into())]
        );
        assert!(kinds("Le bus 69, boulevard Voltaire, est dévié.").is_empty());
        assert!(kinds("Dossier REQ-003312345678 clos.").is_empty());
    }

    #[test]
    fn lists_and_transcript_replies_name_people() {
        assert_eq!(
            kinds("Présents : Claire Fontaine, Anh Tuan Pham et Ngozi Eze."),
            vec![
                (Kind::Name, "Claire Fontaine".into()),
                (Kind::Name, "Anh Tuan Pham".into()),
                (Kind::Name, "Ngozi Eze".into())
            ]
        );
        assert_eq!(
            kinds("Assistant : Quel est votre nom ?\nUsager : Tsering Dolma, merci."),
            vec![(Kind::Name, "Tsering Dolma".into())]
        );
        assert!(kinds("Cordialement, Le service de la voirie").is_empty());
        assert_eq!(
            kinds("Référente : Maëlys Okonkwo (service social), joignable le matin."),
            vec![(Kind::Name, "Maëlys Okonkwo".into())]
        );
        assert!(kinds("Agent: Can I help you with your request?").is_empty());
        assert!(kinds("Contact : Mairie du 20e").is_empty());
    }

    #[test]
    fn introductions_closings_appositions_and_places_that_look_like_names() {
        assert_eq!(
            names("Buenas, me llamo Ximena Quispe, vivo en el 3e."),
            ["Ximena Quispe"]
        );
        assert_eq!(
            names("Ask for Gwendolyn Farraday at the desk."),
            ["Gwendolyn Farraday"]
        );
        assert_eq!(
            names("The ticket is still open. Thanks, Bartholomew Okonkwo"),
            ["Bartholomew Okonkwo"]
        );
        assert_eq!(
            names("Le colis est arrivé abîmé. Joost Van der Meulen"),
            ["Joost Van der Meulen"]
        );
        assert_eq!(
            names("Je passe pour ma voisine, Radmila Petrović, qui est alitée."),
            ["Radmila Petrović"]
        );
        assert_eq!(
            names("Hello, I'm Tadhg, the tenant of the 2nd floor."),
            ["Tadhg"]
        );
        assert_eq!(
            names("Dossier ouvert : bénéficiaire Kadiatou Sangaré, allocataire."),
            ["Kadiatou Sangaré"]
        );
        assert_eq!(
            names("Usager : NGO Van Minh (ngo.van.minh@example.org)"),
            ["NGO Van Minh"]
        );
        // Places: a town after "à", a region, an island, a station named after two people.
        assert!(names("Ma mère vit à Florent, dans la Marne, elle peut voter ici ?").is_empty());
        assert!(names("Il habite en Caroline du Sud depuis un an.").is_empty());
        assert!(names("Retour de l'île Maurice prévu en mars.").is_empty());
        assert!(names("Sortie fermée à la station Pierre et Marie Curie ce matin.").is_empty());
    }
}
