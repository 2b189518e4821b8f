//! The optional generative mode: an OpenAI-compatible `/v1/chat/completions` model (the
//! State's Albert API, vLLM, Ollama) rewrites the extractive answer from the same cited
//! passages. Its draft is served only if it passes the checks the extractive answer passes:
//! every figure, phone number, e-mail address and link is in a cited passage, it cites at
//! least one passage, and it cites no passage that does not exist. Otherwise the extractive
//! answer is served. Nothing requires a model by default.

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;

use crate::engine::{Citation, unsupported_claims};
use crate::query::Lang;

/// Where the model is.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// Base URL, e.g. `https://albert.api.etalab.gouv.fr/v1` (`/chat/completions` is appended).
    pub url: String,
    pub model: String,
    pub api_key: Option<String>,
}

/// Why a draft was not served.
#[derive(Debug, thiserror::Error)]
pub enum DraftRejected {
    #[error("model unavailable: {0}")]
    Unavailable(String),
    #[error("the draft cites no passage")]
    NoCitation,
    #[error("the draft cites passage [{0}], which does not exist")]
    UnknownCitation(usize),
    #[error("the draft states {0:?}, which no cited passage holds")]
    Unsupported(String),
}

/// The client of the generative model.
#[derive(Debug, Clone)]
pub struct Generator {
    client: reqwest::Client,
    config: LlmConfig,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

static CITATION_MARK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[(\d{1,2})\]").expect("valid pattern"));

impl Generator {
    pub fn new(config: LlmConfig) -> Result<Generator, DraftRejected> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| DraftRejected::Unavailable(e.to_string()))?;
        Ok(Generator { client, config })
    }

    /// Asks the model for an answer to `question` from `citations`; returns the draft only if
    /// it passes [`check`].
    pub async fn rewrite(
        &self,
        question: &str,
        lang: Lang,
        citations: &[Citation],
    ) -> Result<String, DraftRejected> {
        let instructions = match lang {
            Lang::Fr => {
                "Tu es l'assistant des démarches administratives de la Ville de Paris. Réponds à la question \
                 uniquement à partir des extraits numérotés fournis, en français simple : d'abord une réponse \
                 courte et directe, puis les conditions, étapes, coûts, pièces et délais utiles. Termine chaque \
                 phrase par la référence [n] de l'extrait qui la justifie. N'écris aucun chiffre, montant, date, \
                 numéro de téléphone, adresse ou lien qui ne figure pas dans les extraits. Ne donne pas la liste \
                 des sources : elle est ajoutée après ta réponse."
            }
            Lang::En => {
                "You are the City of Paris assistant for administrative procedures. Answer the question only \
                 from the numbered excerpts given (they are in French), in plain English: first a short direct \
                 answer, then the useful conditions, steps, costs, documents and deadlines. End every sentence \
                 with the [n] reference of the excerpt that supports it. Never write a figure, amount, date, \
                 phone number, address or link that is not in the excerpts. Do not list the sources: they are \
                 added after your answer."
            }
        };
        let excerpts: Vec<String> = citations
            .iter()
            .map(|c| {
                format!(
                    "[{}] {} — {}\n{}",
                    c.n,
                    c.title,
                    c.headings.join(" › "),
                    c.passage
                )
            })
            .collect();
        let body = serde_json::json!({
            "model": self.config.model,
            "temperature": 0.1,
            "messages": [
                {"role": "system", "content": instructions},
                {"role": "user", "content": format!("Extraits :\n\n{}\n\nQuestion : {question}", excerpts.join("\n\n"))},
            ],
        });
        let url = format!("{}/chat/completions", self.config.url.trim_end_matches('/'));
        let mut request = self.client.post(url).json(&body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| DraftRejected::Unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(DraftRejected::Unavailable(format!(
                "status {}",
                response.status()
            )));
        }
        let completion: Completion = response
            .json()
            .await
            .map_err(|e| DraftRejected::Unavailable(e.to_string()))?;
        let draft = completion
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .unwrap_or_default();
        check(&draft, citations)?;
        Ok(draft.trim().to_owned())
    }
}

/// The checks a draft must pass to be served.
pub fn check(draft: &str, citations: &[Citation]) -> Result<(), DraftRejected> {
    let mut cited = false;
    for mark in CITATION_MARK.captures_iter(draft) {
        let n: usize = mark[1].parse().unwrap_or(0);
        if n == 0 || n > citations.len() {
            return Err(DraftRejected::UnknownCitation(n));
        }
        cited = true;
    }
    if !cited {
        return Err(DraftRejected::NoCitation);
    }
    if let Some(claim) = unsupported_claims(draft, citations).into_iter().next() {
        return Err(DraftRejected::Unsupported(claim.text));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn citation() -> Citation {
        Citation {
            n: 1,
            sheet_id: "paris-encombrants".into(),
            title: "Encombrants".into(),
            url: "https://www.paris.fr/encombrants".into(),
            headings: vec!["Encombrants".into()],
            passage: "L'enlèvement est gratuit. Appelez le 3975.".into(),
        }
    }

    #[test]
    fn grounded_drafts_pass_and_others_are_rejected() {
        let citations = [citation()];
        assert!(check("C'est gratuit [1]. Appelez le 3975 [1].", &citations).is_ok());
        assert!(matches!(
            check("C'est gratuit.", &citations),
            Err(DraftRejected::NoCitation)
        ));
        assert!(matches!(
            check("C'est gratuit [2].", &citations),
            Err(DraftRejected::UnknownCitation(2))
        ));
        assert!(matches!(
            check("Cela coûte 15 € [1].", &citations),
            Err(DraftRejected::Unsupported(claim)) if claim == "15"
        ));
        assert!(matches!(
            check("Voir https://example.org [1].", &citations),
            Err(DraftRejected::Unsupported(_))
        ));
    }
}
