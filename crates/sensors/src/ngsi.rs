//! NGSI-LD's JSON format (normalized entities) for the platform's entities: read from HTTP
//! bodies and MQTT payloads alike, written back for queries. Errors are messages for a
//! BadRequestData problem.

use std::collections::BTreeMap;

use serde_json::{Map, Value as JsonValue};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::platform::{Attribute, Entity, Value};

/// Reads an NGSI-LD entity in normalized form.
pub fn entity_from_json(value: &JsonValue) -> Result<Entity, String> {
    let object = value.as_object().ok_or("an entity must be a JSON object")?;
    let id = object
        .get("id")
        .and_then(JsonValue::as_str)
        .filter(|id| id.contains(':') && id.len() <= 256 && !id.contains(char::is_whitespace))
        .ok_or("id: a URI (urn:ngsi-ld:Type:name) is required")?;
    let entity_type = object
        .get("type")
        .and_then(JsonValue::as_str)
        .filter(|t| valid_name(t))
        .ok_or_else(|| format!("{id}: type is required (letters, digits, _)"))?;
    let mut attributes = BTreeMap::new();
    for (name, attribute) in object {
        if matches!(name.as_str(), "id" | "type" | "@context") {
            continue;
        }
        if !valid_name(name) {
            return Err(format!("{id}: attribute name {name:?} is not valid"));
        }
        attributes.insert(name.clone(), attribute_from_json(id, name, attribute)?);
    }
    let entity = Entity {
        id: id.to_owned(),
        entity_type: entity_type.to_owned(),
        attributes,
    };
    check_known_type(&entity)?;
    Ok(entity)
}

/// Attributes of the Smart Data Models types Parvis knows whose value must be a number (and
/// never negative): a wrongly typed value is refused rather than silently not made a series.
/// Other types and attributes are accepted as they come.
const NUMERIC_ATTRIBUTES: &[(&str, &[&str])] = &[
    (
        "TrafficFlowObserved",
        &[
            "intensity",
            "occupancy",
            "averageVehicleSpeed",
            "averageVehicleLength",
            "averageHeadwayTime",
        ],
    ),
    (
        "ItemFlowObserved",
        &["intensity", "occupancy", "averageSpeed"],
    ),
    (
        "BikeHireDockingStation",
        &["availableBikeNumber", "freeSlotNumber", "totalSlotNumber"],
    ),
    ("SmartMeteringObservation", &["value"]),
    (
        "EnergyMeter",
        &[
            "activePower",
            "activeEnergyImport",
            "reactivePower",
            "totalActiveEnergyImport",
        ],
    ),
    ("Device", &["batteryLevel"]),
];

/// Checks the numeric attributes of known types.
fn check_known_type(entity: &Entity) -> Result<(), String> {
    let Some((_, numeric)) = NUMERIC_ATTRIBUTES
        .iter()
        .find(|(t, _)| *t == entity.entity_type)
    else {
        return Ok(());
    };
    for name in *numeric {
        match entity.attributes.get(*name).map(|a| &a.value) {
            None => {}
            Some(Value::Number(n)) if *n >= 0.0 => {}
            Some(Value::Number(n)) => {
                return Err(format!(
                    "{}: {name} must not be negative, not {n}",
                    entity.id
                ));
            }
            Some(_) => {
                return Err(format!(
                    "{}: {name} of a {} must be a number",
                    entity.id, entity.entity_type
                ));
            }
        }
    }
    Ok(())
}

pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn attribute_from_json(id: &str, name: &str, value: &JsonValue) -> Result<Attribute, String> {
    let at = |m: &str| format!("{id}: attribute {name}: {m}");
    let object = value
        .as_object()
        .ok_or_else(|| at("must be an object with type and value"))?;
    for key in object.keys() {
        if !matches!(
            key.as_str(),
            "type" | "value" | "object" | "observedAt" | "unitCode" | "datasetId"
        ) {
            return Err(at(&format!("unknown member {key:?}")));
        }
    }
    let observed_ms = match object.get("observedAt") {
        None => None,
        Some(v) => Some(parse_instant(v.as_str().unwrap_or("")).ok_or_else(|| {
            at("observedAt must be an ISO 8601 date and time with a time zone (2026-11-26T08:00:00Z)")
        })?),
    };
    let unit_code = match object.get("unitCode") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| at("unitCode must be a string"))?
                .to_owned(),
        ),
    };
    let value = match object.get("type").and_then(JsonValue::as_str) {
        Some("Property") => match object
            .get("value")
            .ok_or_else(|| at("a Property needs a value"))?
        {
            JsonValue::Number(n) => Value::Number(
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| at("the number is out of range"))?,
            ),
            JsonValue::String(s) => Value::Text(s.clone()),
            JsonValue::Bool(b) => Value::Bool(*b),
            JsonValue::Null => return Err(at("value must not be null")),
            other => Value::Structured(other.to_string()),
        },
        Some("GeoProperty") => {
            let geometry = object
                .get("value")
                .and_then(JsonValue::as_object)
                .ok_or_else(|| at("a GeoProperty needs a GeoJSON value"))?;
            match (
                geometry.get("type").and_then(JsonValue::as_str),
                geometry.get("coordinates").and_then(JsonValue::as_array),
            ) {
                (Some("Point"), Some(c)) if c.len() == 2 => {
                    let lon = c[0]
                        .as_f64()
                        .filter(|v| v.abs() <= 180.0)
                        .ok_or_else(|| at("longitude out of range"))?;
                    let lat = c[1]
                        .as_f64()
                        .filter(|v| v.abs() <= 90.0)
                        .ok_or_else(|| at("latitude out of range"))?;
                    Value::Point { lat, lon }
                }
                _ => Value::Structured(JsonValue::Object(geometry.clone()).to_string()),
            }
        }
        Some("Relationship") => Value::Text(
            object
                .get("object")
                .and_then(JsonValue::as_str)
                .ok_or_else(|| at("a Relationship needs an object URI"))?
                .to_owned(),
        ),
        _ => return Err(at("type must be Property, GeoProperty or Relationship")),
    };
    Ok(Attribute {
        value,
        observed_ms,
        unit_code,
    })
}

pub fn parse_instant(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub fn instant(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// An entity in NGSI-LD's normalized form.
pub fn entity_to_json(entity: &Entity) -> JsonValue {
    let mut object = Map::new();
    object.insert("id".into(), entity.id.clone().into());
    object.insert("type".into(), entity.entity_type.clone().into());
    for (name, attribute) in &entity.attributes {
        let mut a = Map::new();
        match &attribute.value {
            Value::Number(n) => {
                a.insert("type".into(), "Property".into());
                a.insert("value".into(), (*n).into());
            }
            Value::Text(t) => {
                a.insert("type".into(), "Property".into());
                a.insert("value".into(), t.clone().into());
            }
            Value::Bool(b) => {
                a.insert("type".into(), "Property".into());
                a.insert("value".into(), (*b).into());
            }
            Value::Point { lat, lon } => {
                a.insert("type".into(), "GeoProperty".into());
                a.insert(
                    "value".into(),
                    serde_json::json!({"type": "Point", "coordinates": [lon, lat]}),
                );
            }
            Value::Structured(json) => {
                a.insert("type".into(), "Property".into());
                a.insert(
                    "value".into(),
                    serde_json::from_str(json).unwrap_or(JsonValue::Null),
                );
            }
        }
        if let Some(ms) = attribute.observed_ms {
            a.insert("observedAt".into(), instant(ms).into());
        }
        if let Some(unit) = &attribute.unit_code {
            a.insert("unitCode".into(), unit.clone().into());
        }
        object.insert(name.clone(), JsonValue::Object(a));
    }
    JsonValue::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_need_numbers_where_the_model_says_so() {
        let read = |value: JsonValue| {
            entity_from_json(&serde_json::json!({
                "id": "urn:ngsi-ld:BikeHireDockingStation:bastille",
                "type": "BikeHireDockingStation",
                "availableBikeNumber": {"type": "Property", "value": value},
            }))
        };
        assert!(read(serde_json::json!(12)).is_ok());
        assert!(
            read(serde_json::json!("12"))
                .unwrap_err()
                .contains("must be a number")
        );
        assert!(
            read(serde_json::json!(-1))
                .unwrap_err()
                .contains("negative")
        );
        // Unknown types are taken as they come.
        let other = entity_from_json(&serde_json::json!({
            "id": "urn:x:1", "type": "Thing", "availableBikeNumber": {"type": "Property", "value": "many"}
        }));
        assert!(other.is_ok());
    }
}
