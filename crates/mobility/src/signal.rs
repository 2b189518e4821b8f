//! Intersections as the controllers see them: the green phases a signal can show (from its own
//! program), the movements each phase serves, and the yellow clearance between two phases.

use crate::traci::{Link, Program};

/// A green phase: a signal state and the movements it gives way to.
#[derive(Debug, Clone, PartialEq)]
pub struct GreenPhase {
    /// Index of this phase in the signal's program.
    pub program_index: usize,
    pub state: String,
    /// `(incoming lane, outgoing lane)` indices into [`Intersection::lanes`], deduplicated.
    pub movements: Vec<(usize, usize)>,
}

/// A lane upstream of an incoming lane.
#[derive(Debug, Clone, PartialEq)]
pub struct Feeder {
    pub lane: String,
    /// The incoming lane (index into [`Intersection::lanes`]) it feeds.
    pub into: usize,
    /// Distance from the stop line to this lane's downstream end, metres.
    pub offset: f64,
    pub length: f64,
}

/// A signalised intersection.
#[derive(Debug, Clone, PartialEq)]
pub struct Intersection {
    pub id: String,
    /// Every lane the signal controls or feeds: incoming lanes first, then outgoing ones.
    pub lanes: Vec<String>,
    /// How many of [`Intersection::lanes`] are incoming.
    pub incoming: usize,
    /// Length of each lane, metres (empty when unknown).
    pub lengths: Vec<f64>,
    /// Lanes upstream of short incoming lanes, up to the detection range: their vehicles
    /// approach this intersection too.
    pub feeders: Vec<Feeder>,
    pub greens: Vec<GreenPhase>,
}

#[derive(Debug, thiserror::Error)]
#[error("traffic light {id}: {reason}")]
pub struct SignalError {
    pub id: String,
    pub reason: String,
}

impl Intersection {
    /// Builds the intersection from its controlled links (one list per state character) and
    /// its program: the green phases are the program's phases that show no yellow and give
    /// way to at least one movement, each distinct state once.
    pub fn new(
        id: &str,
        links: &[Vec<Link>],
        program: &Program,
    ) -> Result<Intersection, SignalError> {
        let error = |reason: String| SignalError {
            id: id.to_owned(),
            reason,
        };
        let mut incoming: Vec<String> = Vec::new();
        let mut outgoing: Vec<String> = Vec::new();
        for link in links.iter().flatten() {
            if !incoming.contains(&link.from) {
                incoming.push(link.from.clone());
            }
            if !outgoing.contains(&link.to) {
                outgoing.push(link.to.clone());
            }
        }
        let lane_index = |lane: &str, list: &[String]| list.iter().position(|l| l == lane);
        let mut greens: Vec<GreenPhase> = Vec::new();
        for (index, phase) in program.phases.iter().enumerate() {
            if phase.state.len() != links.len() {
                return Err(error(format!(
                    "phase {index} has {} signals for {} controlled links",
                    phase.state.len(),
                    links.len()
                )));
            }
            let yellow = phase.state.chars().any(|c| matches!(c, 'y' | 'Y'));
            if yellow || greens.iter().any(|g| g.state == phase.state) {
                continue;
            }
            let mut movements = Vec::new();
            for (signal, c) in phase.state.chars().enumerate() {
                if !matches!(c, 'G' | 'g') {
                    continue;
                }
                for link in &links[signal] {
                    let (Some(from), Some(to)) = (
                        lane_index(&link.from, &incoming),
                        lane_index(&link.to, &outgoing),
                    ) else {
                        continue;
                    };
                    let movement = (from, incoming.len() + to);
                    if !movements.contains(&movement) {
                        movements.push(movement);
                    }
                }
            }
            if !movements.is_empty() {
                greens.push(GreenPhase {
                    program_index: index,
                    state: phase.state.clone(),
                    movements,
                });
            }
        }
        if greens.is_empty() {
            return Err(error("its program has no green phase".into()));
        }
        let count = incoming.len();
        incoming.extend(outgoing);
        Ok(Intersection {
            id: id.to_owned(),
            lanes: incoming,
            incoming: count,
            lengths: Vec::new(),
            feeders: Vec::new(),
            greens,
        })
    }

    /// Incoming lanes the green phase `phase` serves.
    pub fn served_lanes(&self, phase: usize) -> impl Iterator<Item = usize> + '_ {
        let mut seen = Vec::new();
        self.greens[phase]
            .movements
            .iter()
            .filter_map(move |(from, _)| {
                if seen.contains(from) {
                    None
                } else {
                    seen.push(*from);
                    Some(*from)
                }
            })
    }
}

/// The clearance state between two signal states: every signal that goes from green to red
/// shows yellow; the others keep their current state.
pub fn yellow_between(from: &str, to: &str) -> String {
    from.chars()
        .zip(to.chars())
        .map(|(a, b)| match (a, b) {
            ('G' | 'g', 'r' | 's') => 'y',
            ('G' | 'g', _) => a,
            _ => 'r',
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::traci::Phase;

    pub(crate) fn link(from: &str, to: &str) -> Vec<Link> {
        vec![Link {
            from: from.into(),
            to: to.into(),
            via: String::new(),
        }]
    }

    pub(crate) fn phase(state: &str) -> Phase {
        Phase {
            duration: 30.0,
            state: state.into(),
            min_duration: 30.0,
            max_duration: 30.0,
        }
    }

    #[test]
    fn greens_come_from_the_program_without_yellows_or_repeats() {
        let links = vec![link("n_0", "s_0"), link("s_0", "n_0"), link("e_0", "w_0")];
        let program = Program {
            id: "0".into(),
            phases: vec![
                phase("GGr"),
                phase("yyr"),
                phase("rrG"),
                phase("rry"),
                phase("GGr"),
            ],
        };
        let x = Intersection::new("c", &links, &program).unwrap();
        assert_eq!(x.incoming, 3);
        assert_eq!(x.greens.len(), 2);
        assert_eq!(x.greens[1].program_index, 2);
        assert_eq!(x.served_lanes(0).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(x.lanes[x.greens[1].movements[0].1], "w_0");
    }

    #[test]
    fn a_program_that_does_not_match_the_links_is_refused() {
        let links = vec![link("a", "b")];
        let program = Program {
            id: "0".into(),
            phases: vec![phase("GG")],
        };
        assert!(Intersection::new("c", &links, &program).is_err());
    }

    #[test]
    fn yellow_clears_only_the_signals_that_turn_red() {
        assert_eq!(yellow_between("GGrrgG", "rGGrrG"), "yGrryG");
    }
}
