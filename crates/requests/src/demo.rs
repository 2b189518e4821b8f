//! Synthetic requests: plausible positions in Paris, categories drawn in proportion to a
//! weight, dates spread over a period. Used by the benchmark (100,000 stored requests) and as
//! demonstration data; never presented as real reports.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::{Duration, OffsetDateTime};

use crate::area::Arrondissements;
use crate::catalogue::Catalogue;
use crate::model::Stage;

/// A request to store as is (bulk import), bypassing intake.
#[derive(Debug, Clone)]
pub struct ImportedRequest {
    pub service_code: String,
    pub description: String,
    pub lat: f64,
    pub lon: f64,
    pub arrondissement: u8,
    pub requested_at: OffsetDateTime,
    pub stage: Stage,
    pub closed_at: Option<OffsetDateTime>,
}

/// `n` synthetic requests over the `days` before `now`; about `closed_share` of them closed
/// (within their category's deadline, more or less).
pub fn synthetic(
    catalogue: &Catalogue,
    areas: &Arrondissements,
    n: usize,
    days: i64,
    closed_share: f64,
    seed: u64,
    now: OffsetDateTime,
) -> Vec<ImportedRequest> {
    let mut rng = StdRng::seed_from_u64(seed);
    let services: Vec<_> = catalogue.public().collect();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let lat = rng.gen_range(48.816..48.902);
        let lon = rng.gen_range(2.225..2.470);
        let Some(arrondissement) = areas.locate(lat, lon) else {
            continue;
        };
        // Earlier services in the catalogue are the frequent ones: favour them.
        let k = ((rng.gen_range(0.0f64..1.0).powi(3)) * services.len() as f64) as usize;
        let service = services[k.min(services.len() - 1)];
        let requested_at = now - Duration::seconds(rng.gen_range(0..days * 86_400));
        let closed = rng.gen_bool(closed_share);
        let closed_at = closed.then(|| {
            let hours = rng.gen_range(1.0..(f64::from(service.deadline_days) * 24.0 * 1.5));
            (requested_at + Duration::seconds_f64(hours * 3600.0)).min(now)
        });
        out.push(ImportedRequest {
            service_code: service.code.clone(),
            description: service.name.clone(),
            lat,
            lon,
            arrondissement,
            requested_at,
            stage: if closed {
                Stage::Closed
            } else {
                Stage::Received
            },
            closed_at,
        });
    }
    out
}
