//! The service catalogue: every category a request can be filed under, as an Open311 service.
//!
//! The project ships `catalogue/catalogue.toml` (the DansMaRue types and sub-types, with stable
//! codes, deadlines and the default handling service), embedded in the binary; a deployment can
//! load its own file instead. The catalogue is checked as a whole when it is loaded.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

/// The catalogue shipped with Parvis.
pub const BUILT_IN: &str = include_str!("../catalogue/catalogue.toml");

/// One category, i.e. one Open311 service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Stable code, e.g. `OBJ-01`.
    pub code: String,
    /// The DansMaRue type (Open311 `group`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// The DansMaRue sub-type (Open311 `service_name`), spelled as in the city's data.
    pub name: String,
    /// Used by the city's agents only; not listed publicly, not open to resident posts.
    #[serde(default)]
    pub agent_only: bool,
    /// Days within which the handling service should close a request.
    pub deadline_days: u32,
    /// The service that handles the category when no better rule applies.
    pub default_service: String,
    /// Radius in metres within which open requests of this category are proposed as duplicates;
    /// the catalogue-wide default applies when absent.
    #[serde(default)]
    pub duplicate_radius_m: Option<f64>,
}

/// An extra question a service asks (Open311 attribute).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    pub code: String,
    /// Types whose services ask it; empty = every service.
    #[serde(default)]
    pub types: Vec<String>,
    pub datatype: Datatype,
    #[serde(default)]
    pub required: bool,
    pub description: String,
    #[serde(default)]
    pub values: Vec<AttributeValue>,
}

/// Open311 attribute datatypes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    String,
    Number,
    Datetime,
    Text,
    Singlevaluelist,
    Multivaluelist,
}

impl Datatype {
    pub fn as_str(self) -> &'static str {
        match self {
            Datatype::String => "string",
            Datatype::Number => "number",
            Datatype::Datetime => "datetime",
            Datatype::Text => "text",
            Datatype::Singlevaluelist => "singlevaluelist",
            Datatype::Multivaluelist => "multivaluelist",
        }
    }
}

/// One allowed value of a list attribute.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

impl Attribute {
    /// Checks one submitted value; the error says what is wrong.
    pub fn check(&self, value: &str) -> Result<(), String> {
        let value = value.trim();
        match self.datatype {
            Datatype::String if value.chars().count() > 255 => {
                Err("must be at most 255 characters".into())
            }
            Datatype::Text if value.chars().count() > 4000 => {
                Err("must be at most 4,000 characters".into())
            }
            Datatype::Number if value.parse::<f64>().map_or(true, |n| !n.is_finite()) => {
                Err(format!("must be a number, not {value:?}"))
            }
            Datatype::Datetime
                if time::OffsetDateTime::parse(
                    value,
                    &time::format_description::well_known::Rfc3339,
                )
                .is_err() =>
            {
                Err("must be an ISO 8601 date and time with a time zone".into())
            }
            Datatype::Singlevaluelist if !self.values.iter().any(|v| v.key == value) => {
                Err(format!("must be one of {}", self.keys()))
            }
            Datatype::Multivaluelist
                if value
                    .split(',')
                    .any(|part| !self.values.iter().any(|v| v.key == part.trim())) =>
            {
                Err(format!("must be a comma-separated list of {}", self.keys()))
            }
            _ => Ok(()),
        }
    }

    fn keys(&self) -> String {
        self.values
            .iter()
            .map(|v| v.key.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    service: Vec<Service>,
    #[serde(default)]
    attribute: Vec<Attribute>,
}

/// Errors found while loading a catalogue.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("cannot read the catalogue {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid catalogue: {0}")]
    Invalid(String),
}

/// Every service, indexed by code, in file order.
#[derive(Debug, Clone)]
pub struct Catalogue {
    services: Vec<Service>,
    by_code: HashMap<String, usize>,
    types: Vec<String>,
    attributes: Vec<Attribute>,
}

impl Catalogue {
    /// The catalogue shipped with Parvis.
    pub fn built_in() -> Catalogue {
        Catalogue::parse(BUILT_IN).expect("the built-in catalogue is valid (tested)")
    }

    /// Reads a catalogue file.
    pub fn load(path: &Path) -> Result<Catalogue, CatalogueError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Catalogue::parse(&text)
    }

    /// Parses and checks a catalogue: codes unique, non-empty names, deadlines ≥ 1 day.
    pub fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        let file: CatalogueFile =
            toml::from_str(text).map_err(|e| CatalogueError::Invalid(e.to_string()))?;
        let mut by_code = HashMap::new();
        let mut types: Vec<String> = Vec::new();
        for (i, service) in file.service.iter().enumerate() {
            let valid_code = !service.code.is_empty()
                && service.code.len() <= 32
                && service
                    .code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid_code {
                return Err(CatalogueError::Invalid(format!(
                    "service #{}: code {:?} must be 1-32 characters of A-Z, a-z, 0-9, - and _",
                    i + 1,
                    service.code
                )));
            }
            if service.name.trim().is_empty() || service.type_name.trim().is_empty() {
                return Err(CatalogueError::Invalid(format!(
                    "service {}: type and name must not be empty",
                    service.code
                )));
            }
            if service.deadline_days == 0 {
                return Err(CatalogueError::Invalid(format!(
                    "service {}: deadline_days must be at least 1",
                    service.code
                )));
            }
            if by_code.insert(service.code.clone(), i).is_some() {
                return Err(CatalogueError::Invalid(format!(
                    "service code {} appears twice",
                    service.code
                )));
            }
            if !types.contains(&service.type_name) {
                types.push(service.type_name.clone());
            }
        }
        if file.service.is_empty() {
            return Err(CatalogueError::Invalid("no service".into()));
        }
        for attribute in &file.attribute {
            let lists = matches!(
                attribute.datatype,
                Datatype::Singlevaluelist | Datatype::Multivaluelist
            );
            if lists == attribute.values.is_empty() {
                return Err(CatalogueError::Invalid(format!(
                    "attribute {}: list datatypes need values, others must have none",
                    attribute.code
                )));
            }
            if let Some(unknown) = attribute.types.iter().find(|t| !types.contains(t)) {
                return Err(CatalogueError::Invalid(format!(
                    "attribute {}: unknown type {unknown:?}",
                    attribute.code
                )));
            }
        }
        Ok(Catalogue {
            services: file.service,
            by_code,
            types,
            attributes: file.attribute,
        })
    }

    pub fn get(&self, code: &str) -> Option<&Service> {
        self.by_code.get(code).map(|&i| &self.services[i])
    }

    /// Every service, agent-only ones included.
    pub fn all(&self) -> &[Service] {
        &self.services
    }

    /// The services residents can report under.
    pub fn public(&self) -> impl Iterator<Item = &Service> {
        self.services.iter().filter(|s| !s.agent_only)
    }

    /// The types (Open311 groups), in file order.
    pub fn types(&self) -> &[String] {
        &self.types
    }

    /// The attributes a service asks, in catalogue order.
    pub fn attributes(&self, service: &Service) -> Vec<&Attribute> {
        self.attributes
            .iter()
            .filter(|a| a.types.is_empty() || a.types.contains(&service.type_name))
            .collect()
    }

    /// The service with this type and sub-type names.
    pub fn find(&self, type_name: &str, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.type_name == type_name && s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_catalogue_has_the_dansmarue_types_and_sub_types() {
        let catalogue = Catalogue::built_in();
        assert_eq!(catalogue.types().len(), 10);
        assert_eq!(catalogue.all().len(), 237);
        assert_eq!(catalogue.public().count(), 141);
        let sofa = catalogue.get("OBJ-01").unwrap();
        assert_eq!(sofa.name, "Autres objets encombrants abandonnés");
        assert_eq!(sofa.type_name, "Objets abandonnés");
    }

    #[test]
    fn invalid_catalogues_are_refused_with_the_reason() {
        let service = |code: &str, days: u32| {
            format!(
                "[[service]]\ncode = \"{code}\"\ntype = \"T\"\nname = \"N\"\ndeadline_days = {days}\ndefault_service = \"S\"\n"
            )
        };
        let twice = format!("{}{}", service("A-1", 3), service("A-1", 3));
        for (text, expected) in [
            (twice.as_str(), "appears twice"),
            (&service("A 1", 3), "must be 1-32 characters"),
            (&service("A-1", 0), "at least 1"),
            ("service = []", "no service"),
            ("[[service]]\ncode = 1", "invalid type"),
        ] {
            let error = Catalogue::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }
}
