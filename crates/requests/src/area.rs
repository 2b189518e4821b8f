//! Where a request is: its arrondissement from coordinates (point in polygon over the city's
//! arrondissement boundaries) or from a postal code, and planar distances for duplicate search.
//!
//! The boundaries are the Ville de Paris "Arrondissements" open data (ODbL, attribution "Ville
//! de Paris"), shipped in `catalogue/arrondissements.geojson`.

use geo::{Contains, Coord, LineString, Point, Polygon};
use serde::Deserialize;

const BOUNDARIES: &str = include_str!("../catalogue/arrondissements.geojson");

/// Metres per degree of latitude, and of longitude at Paris's latitude (48.86°): a local
/// equirectangular projection, within 0.1 % over the city.
const METRES_PER_DEGREE_LAT: f64 = 111_132.0;
const METRES_PER_DEGREE_LON: f64 = 73_215.0;

/// A point in metres on the local plane (x east, y north), for distances within the city.
pub fn planar(lat: f64, lon: f64) -> [f64; 2] {
    [lon * METRES_PER_DEGREE_LON, lat * METRES_PER_DEGREE_LAT]
}

/// An arrondissement's number, name and outer boundary as (lon, lat) points.
pub type Outline<'a> = (u8, &'a str, Vec<(f64, f64)>);

/// The 20 arrondissements of Paris.
#[derive(Debug, Clone)]
pub struct Arrondissements {
    polygons: Vec<(u8, String, Polygon<f64>)>,
}

#[derive(Deserialize)]
struct Collection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    properties: Properties,
    geometry: Geometry,
}

#[derive(Deserialize)]
struct Properties {
    c_ar: u8,
    l_aroff: String,
}

#[derive(Deserialize)]
struct Geometry {
    coordinates: Vec<Vec<[f64; 2]>>,
}

impl Arrondissements {
    /// The boundaries shipped with Parvis.
    pub fn paris() -> Arrondissements {
        let collection: Collection =
            serde_json::from_str(BOUNDARIES).expect("the shipped boundaries are valid GeoJSON");
        let polygons = collection
            .features
            .into_iter()
            .map(|f| {
                let mut rings = f.geometry.coordinates.into_iter().map(|ring| {
                    LineString::from(
                        ring.into_iter()
                            .map(|[x, y]| Coord { x, y })
                            .collect::<Vec<_>>(),
                    )
                });
                let exterior = rings.next().expect("a polygon has an exterior ring");
                (
                    f.properties.c_ar,
                    f.properties.l_aroff,
                    Polygon::new(exterior, rings.collect()),
                )
            })
            .collect();
        Arrondissements { polygons }
    }

    /// The arrondissement (1–20) containing the point, or `None` outside Paris.
    pub fn locate(&self, lat: f64, lon: f64) -> Option<u8> {
        let point = Point::new(lon, lat);
        self.polygons
            .iter()
            .find(|(_, _, polygon)| polygon.contains(&point))
            .map(|(n, _, _)| *n)
    }

    /// The official name of an arrondissement ("Louvre").
    pub fn name(&self, arrondissement: u8) -> Option<&str> {
        self.polygons
            .iter()
            .find(|(n, _, _)| *n == arrondissement)
            .map(|(_, name, _)| name.as_str())
    }

    /// Each arrondissement's number, name and outer boundary as (lon, lat) points, for maps.
    pub fn outlines(&self) -> Vec<Outline<'_>> {
        self.polygons
            .iter()
            .map(|(n, name, polygon)| {
                let points = polygon.exterior().coords().map(|c| (c.x, c.y)).collect();
                (*n, name.as_str(), points)
            })
            .collect()
    }

    /// The boundaries as GeoJSON, for maps.
    pub fn geojson() -> &'static str {
        BOUNDARIES
    }
}

/// The arrondissement a Paris postal code in a text points to: 75001–75020, 75116 (16th);
/// `None` when the text holds no Paris postal code.
pub fn arrondissement_of_postcode(text: &str) -> Option<u8> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(4)).find_map(|i| {
        let window = &text[i..i + 5];
        let bounded = (i == 0 || !bytes[i - 1].is_ascii_digit())
            && bytes.get(i + 5).is_none_or(|b| !b.is_ascii_digit());
        if !bounded || !window.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match window {
            "75116" => Some(16),
            w if w.starts_with("750") => w[3..].parse().ok().filter(|n| (1..=20).contains(n)),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landmarks_fall_in_their_arrondissement() {
        let paris = Arrondissements::paris();
        for (lat, lon, expected) in [
            (48.8606, 2.3376, Some(1)),  // Louvre
            (48.8530, 2.3499, Some(4)),  // Notre-Dame
            (48.8584, 2.2945, Some(7)),  // Eiffel tower
            (48.8867, 2.3431, Some(18)), // Sacré-Cœur
            (48.8462, 2.2530, Some(16)), // Bois de Boulogne side
            (48.8924, 2.2370, None),     // La Défense
            (45.7640, 4.8357, None),     // Lyon
        ] {
            assert_eq!(paris.locate(lat, lon), expected, "{lat},{lon}");
        }
        assert_eq!(paris.name(1), Some("Louvre"));
    }

    #[test]
    fn postal_codes() {
        for (text, expected) in [
            ("11 Rue Pierre Fontaine, 75009 PARIS", Some(9)),
            ("75116 Paris", Some(16)),
            ("Paris 75020", Some(20)),
            ("750201", None),
            ("75021", None),
            ("92120 Montrouge", None),
            ("", None),
        ] {
            assert_eq!(arrondissement_of_postcode(text), expected, "{text}");
        }
    }

    #[test]
    fn planar_distance_is_metres() {
        let a = planar(48.8606, 2.3376);
        let b = planar(48.8615, 2.3376); // 0.0009° north ≈ 100 m
        let d = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
        assert!((d - 100.0).abs() < 1.0, "{d}");
    }
}
