//! The DansMaRue history (the city's open-data export of past reports): read for learning the
//! routing and for building the labelled duplicate set. Never shipped: commands take its path.

use std::path::Path;

use serde::Deserialize;
use time::Date;
use time::macros::format_description;

/// One past report.
#[derive(Debug, Clone)]
pub struct PastReport {
    pub id: String,
    pub type_name: String,
    pub soustype: String,
    /// Street address as the city wrote it (`11 Rue Pierre Fontaine, 75009 PARIS`).
    pub address: String,
    pub arrondissement: u8,
    pub date: Date,
    pub service: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Deserialize)]
struct Row {
    #[serde(rename = "type")]
    type_name: String,
    soustype: String,
    adresse: String,
    arrondissement: String,
    datedecl: String,
    intervenant: String,
    id_dmr: String,
    geo_point_2d: String,
}

/// Reads the export (`raw_data.csv`); the error names the record.
pub fn read(path: &Path) -> Result<Vec<PastReport>, String> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reports = Vec::new();
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let at = || format!("{} record {}", path.display(), i + 1);
        let row = row.map_err(|e| format!("{}: {e}", at()))?;
        let date = Date::parse(&row.datedecl, format_description!("[year]-[month]-[day]"))
            .map_err(|e| format!("{}: datedecl {:?}: {e}", at(), row.datedecl))?;
        let (lat, lon) = parse_point(&row.geo_point_2d)
            .ok_or_else(|| format!("{}: geo_point_2d {:?}", at(), row.geo_point_2d))?;
        reports.push(PastReport {
            id: row.id_dmr,
            type_name: row.type_name,
            soustype: row.soustype,
            address: row.adresse,
            arrondissement: row.arrondissement.trim().parse().unwrap_or(0),
            date,
            service: row.intervenant,
            lat,
            lon,
        });
    }
    Ok(reports)
}

/// `{'lon': 2.33, 'lat': 48.88}` → (lat, lon).
fn parse_point(text: &str) -> Option<(f64, f64)> {
    let value = |key: &str| -> Option<f64> {
        let start = text.find(key)? + key.len();
        let rest = text[start..].trim_start_matches([':', ' ', '\'']);
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        rest[..end].trim().parse().ok()
    };
    Some((value("'lat'")?, value("'lon'")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_export_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.csv");
        std::fs::write(
            &path,
            "numero,type,soustype,adresse,code_postal,ville,arrondissement,conseilquartier,datedecl,anneedecl,moisdecl,prefixe,intervenant,id_dmr,geo_shape,geo_point_2d,mois_annee_decla\n\
             36305,\"Graffitis, tags\",\"Sur mur, façade\",\"11 Rue X, 75009 PARIS\",75009,Paris 09,9,BLANCHE,2023-11-16,2023,11,Android,graffitis,G2023K036305,\"{'type': 'Feature'}\",\"{'lon': 2.334404229526263, 'lat': 48.88124847353733}\",2023-11\n",
        )
        .unwrap();
        let reports = read(&path).unwrap();
        assert_eq!(reports.len(), 1);
        let r = &reports[0];
        assert_eq!(r.type_name, "Graffitis, tags");
        assert_eq!(r.arrondissement, 9);
        assert_eq!(r.service, "graffitis");
        assert!((r.lat - 48.881248).abs() < 1e-5 && (r.lon - 2.334404).abs() < 1e-5);

        std::fs::write(&path, "type,soustype\nA,B\n").unwrap();
        assert!(read(&path).unwrap_err().contains("record 1"));
    }
}
