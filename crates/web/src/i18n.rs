//! The pages' words in French (the default) and English: one table, looked up by key.

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }
}

/// (key, French, English).
const WORDS: &[(&str, &str, &str)] = &[
    ("app", "Parvis", "Parvis"),
    (
        "tagline",
        "Services de la ville, avec l'IA",
        "City services, with AI",
    ),
    ("skip", "Aller au contenu", "Skip to content"),
    ("nav", "Navigation principale", "Main navigation"),
    ("overview", "Vue d'ensemble", "Overview"),
    ("requests", "Signalements", "Service requests"),
    ("sensors", "Capteurs", "Sensors"),
    ("mobility", "Mobilité", "Mobility"),
    ("register", "Registre des algorithmes", "Algorithm register"),
    ("assistant", "Assistant", "Assistant"),
    ("switch", "English", "Français"),
    ("signin", "Connexion agent", "Operator sign-in"),
    ("signout", "Se déconnecter", "Sign out"),
    ("signed_in_as", "Connecté :", "Signed in:"),
    (
        "api_key",
        "Clé d'API (rôle opérateur)",
        "API key (operator role)",
    ),
    (
        "api_key_help",
        "Créée par un administrateur avec « parvis keys create --role operator ».",
        "Created by an administrator with “parvis keys create --role operator”.",
    ),
    ("signin_button", "Se connecter", "Sign in"),
    (
        "bad_key",
        "Clé inconnue, révoquée ou mal formée.",
        "Unknown, revoked or malformed key.",
    ),
    (
        "low_role",
        "Cette clé n'a pas le rôle opérateur.",
        "This key does not have the operator role.",
    ),
    ("requests_open", "Signalements ouverts", "Open requests"),
    ("requests_today", "Reçus depuis 24 h", "Received in 24 h"),
    (
        "alerts_24h",
        "Alertes capteurs (24 h)",
        "Sensor alerts (24 h)",
    ),
    (
        "intersections",
        "Carrefours pilotés",
        "Controlled intersections",
    ),
    (
        "plan_changes",
        "changements de phase enregistrés",
        "phase changes recorded",
    ),
    (
        "assistant_usage",
        "Questions à l'assistant (24 h)",
        "Assistant questions (24 h)",
    ),
    (
        "abstained",
        "sans réponse (renvoi vers un agent)",
        "not answered (handed off)",
    ),
    (
        "per_day",
        "Signalements reçus par jour (14 jours)",
        "Requests received per day (14 days)",
    ),
    (
        "latest_eval",
        "Dernières évaluations enregistrées",
        "Latest recorded evaluations",
    ),
    ("algorithm", "Algorithme", "Algorithm"),
    ("metric", "Mesure", "Metric"),
    ("value", "Valeur", "Value"),
    ("measured_on", "Mesurée le", "Measured on"),
    ("not_measured", "pas encore mesurée", "not measured yet"),
    ("latest_alerts", "Dernières alertes", "Latest alerts"),
    ("filters", "Filtres", "Filters"),
    ("category", "Catégorie", "Category"),
    ("all", "Toutes", "All"),
    ("status", "Statut", "Status"),
    ("open", "Ouvert", "Open"),
    ("closed", "Clos", "Closed"),
    ("arrondissement", "Arrondissement", "Arrondissement"),
    ("since", "Depuis le", "Since"),
    ("apply", "Appliquer", "Apply"),
    ("map", "Carte des signalements", "Map of requests"),
    (
        "map_label",
        "Carte de Paris : les 20 arrondissements et les signalements filtrés, colorés par catégorie. Le tableau ci-dessous donne les mêmes données.",
        "Map of Paris: the 20 arrondissements and the filtered requests, coloured by category. The table below holds the same data.",
    ),
    (
        "map_source",
        "Limites des arrondissements : Ville de Paris, ODbL.",
        "Arrondissement boundaries: Ville de Paris, ODbL.",
    ),
    ("shown", "affichés", "shown"),
    ("request", "Signalement", "Request"),
    ("received", "Reçu le", "Received"),
    ("service", "Service", "Service"),
    ("stage", "Étape", "Stage"),
    ("description", "Description", "Description"),
    ("location", "Lieu", "Location"),
    ("deadline", "Échéance", "Due"),
    (
        "classification",
        "Classement automatique",
        "Automatic classification",
    ),
    ("timeline", "Historique", "Timeline"),
    ("duplicates", "Doublons probables", "Likely duplicates"),
    (
        "no_duplicates",
        "Aucun signalement ouvert de la même catégorie à proximité.",
        "No open request of the same category nearby.",
    ),
    ("distance", "Distance", "Distance"),
    ("merge", "Fusionner dans", "Merge into"),
    ("merged_into", "Fusionné dans", "Merged into"),
    ("update_status", "Changer l'étape", "Change the stage"),
    (
        "note",
        "Note (visible du déclarant)",
        "Note (visible to the reporter)",
    ),
    ("save", "Enregistrer", "Save"),
    (
        "note_too_long",
        "La note fait au plus 500 caractères.",
        "The note is at most 500 characters.",
    ),
    (
        "bad_stage",
        "Choisissez une étape de la liste.",
        "Choose a stage from the list.",
    ),
    ("series", "Série", "Series"),
    ("show", "Afficher", "Show"),
    (
        "chart_label",
        "Mesures horaires des 7 derniers jours ; les alertes sont marquées en rouge ; la prévision des 24 prochaines heures est en pointillé, avec en bande l'écart entre le profil saisonnier et la semaine précédente.",
        "Hourly readings of the last 7 days; alerts are marked in red; the forecast for the next 24 hours is dashed, with the band between the seasonal profile and the previous week.",
    ),
    (
        "no_series",
        "Aucune série de mesures pour l'instant.",
        "No series of readings yet.",
    ),
    ("alerts", "Alertes", "Alerts"),
    ("live", "En direct", "Live"),
    ("live_on", "connecté", "connected"),
    ("live_off", "reconnexion…", "reconnecting…"),
    ("sensor", "Capteur", "Sensor"),
    ("observed", "Observé le", "Observed"),
    ("score", "Score", "Score"),
    (
        "bench",
        "Dernier banc d'essai des feux (SUMO)",
        "Latest signal-control benchmark (SUMO)",
    ),
    (
        "bench_none",
        "Aucun banc d'essai enregistré : lancez « parvis mobility bench --scenarios … ».",
        "No benchmark recorded: run “parvis mobility bench --scenarios …”.",
    ),
    (
        "delay",
        "Retard moyen par véhicule (s)",
        "Mean delay per vehicle (s)",
    ),
    (
        "delay_ratio",
        "Retard moyen rapporté à celui du plan de feux fixe (1 = plan fixe ; plus bas, mieux).",
        "Mean delay relative to the fixed-time plan's (1 = fixed plan; lower is better).",
    ),
    ("scenario", "Scénario", "Scenario"),
    (
        "register_intro",
        "Les algorithmes que Parvis utilise, ce qu'ils font, comment ils sont contrôlés et comment contester une décision. Les performances viennent des dernières évaluations enregistrées par Parvis (date et commande indiquées), jamais d'une saisie manuelle.",
        "The algorithms Parvis runs, what they do, how they are overseen and how to object to a decision. Performance comes from the latest evaluations Parvis recorded (date and command shown), never typed by hand.",
    ),
    (
        "register_lang_note",
        "Format : Algorithmic Transparency Standard 0.3.1 et articles L312-1-3 et L311-3-1 du CRPA.",
        "Format: Algorithmic Transparency Standard 0.3.1 and articles L312-1-3 and L311-3-1 of the CRPA; fields other than name, summary and goal are in French.",
    ),
    ("goal", "Objectif", "Goal"),
    ("human", "Intervention humaine", "Human oversight"),
    (
        "objection",
        "Contester ou demander une explication",
        "Objecting or asking for an explanation",
    ),
    ("contact", "Contact", "Contact"),
    (
        "perf_caption",
        "Performance mesurée",
        "Measured performance",
    ),
    ("command", "Commande", "Command"),
    ("controller", "Contrôleur", "Controller"),
    (
        "live_control",
        "Carrefours pilotés en direct",
        "Live controlled intersections",
    ),
    (
        "no_control",
        "Aucun contrôleur en marche (« parvis mobility control --sumo … »).",
        "No controller running (“parvis mobility control --sumo …”).",
    ),
    ("intersection", "Carrefour", "Intersection"),
    ("phase", "Phase", "Phase"),
    ("since_s", "Depuis (s)", "Since (s)"),
    ("ask_title", "Posez votre question", "Ask your question"),
    (
        "ask_label",
        "Votre question sur une démarche",
        "Your question about a procedure",
    ),
    ("ask_button", "Demander", "Ask"),
    (
        "disclosure",
        "Vous échangez avec un assistant automatique (intelligence artificielle). Ses réponses citent les fiches officielles ; il peut se tromper. Pour parler à une personne : 3975 ou votre mairie d'arrondissement.",
        "You are talking to an automated assistant (artificial intelligence). Its answers cite official sheets; it can be wrong. To talk to a person: call 3975 or visit your town hall.",
    ),
    ("sources", "Sources", "Sources"),
    ("you", "Vous", "You"),
    (
        "question_empty",
        "Écrivez une question.",
        "Write a question.",
    ),
    (
        "question_long",
        "La question fait au plus 2 000 caractères.",
        "The question is at most 2,000 characters.",
    ),
    (
        "handoff",
        "Pas de réponse sûre : un agent peut vous aider au 3975 ou dans votre mairie d'arrondissement.",
        "No reliable answer: an agent can help you on 3975 or at your town hall.",
    ),
    ("confidence", "Confiance", "Confidence"),
    ("not_found", "Page introuvable", "Page not found"),
    (
        "not_found_text",
        "Cette page n'existe pas.",
        "This page does not exist.",
    ),
    ("home", "Retour à l'accueil", "Back to the home page"),
    (
        "demo_note",
        "Les données de démonstration sont marquées « [démo] » : elles ne décrivent pas la ville réelle.",
        "Demonstration data is marked “[démo]”: it does not describe the real city.",
    ),
    ("error", "Erreur", "Error"),
    (
        "unavailable",
        "Ce service n'est pas activé sur ce serveur.",
        "This service is not enabled on this server.",
    ),
];

/// The word for `key` in `lang` (the key itself when missing, which tests catch).
pub fn t(lang: Lang, key: &str) -> &'static str {
    WORDS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, fr, en)| match lang {
            Lang::Fr => *fr,
            Lang::En => *en,
        })
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_translated() {
        let mut keys: Vec<&str> = WORDS.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "a key is defined twice");
        assert!(
            WORDS
                .iter()
                .all(|(_, fr, en)| !fr.is_empty() && !en.is_empty())
        );
        assert_eq!(t(Lang::En, "requests"), "Service requests");
        assert_eq!(t(Lang::Fr, "nope"), "?");
    }
}
