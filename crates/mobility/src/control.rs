//! Signal controllers (observe → choose the next green phase) and the loop that drives a
//! simulation through TraCI while keeping every controller safe: yellow clearance between
//! phases, a minimum green, and a maximum red so that no lane with a queue starves.

use std::collections::HashMap;

use crate::signal::{Feeder, Intersection, yellow_between};
use crate::traci::{self, Client, Get, TraciError, cmd, var};

/// What a detector reads on one lane at the decision time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LaneReading {
    /// Vehicles on the lane.
    pub vehicles: f64,
    /// Vehicles slower than 0.1 m/s (the queue).
    pub halting: f64,
    /// Sum of the waiting times of the vehicles on the lane, seconds.
    pub waiting: f64,
}

/// What a controller sees of one intersection when it decides.
#[derive(Debug)]
pub struct View<'a> {
    pub intersection: &'a Intersection,
    /// One reading per lane of [`Intersection::lanes`], then one per feeder.
    pub lanes: &'a [LaneReading],
    /// The green phase showing (index into [`Intersection::greens`]).
    pub current: usize,
    /// For how long it has shown, seconds (yellow before it excluded).
    pub green_for: f64,
    /// Per green phase, seconds since it last showed (0 for the current one).
    pub red_for: &'a [f64],
    /// The yellow clearance a change costs, seconds.
    pub yellow: f64,
    pub time: f64,
}

impl View<'_> {
    /// Vehicles on the incoming lanes `phase` serves, within detection range of the stop line.
    pub fn demand(&self, phase: usize) -> f64 {
        self.intersection
            .served_lanes(phase)
            .map(|lane| self.near(lane))
            .sum()
    }

    /// Vehicles on `lane` within [`DETECTION_RANGE`] of its end: the queue, and the moving
    /// vehicles in proportion of the lane the range covers.
    pub fn near(&self, lane: usize) -> f64 {
        let x = self.intersection;
        let reading = &self.lanes[lane];
        let moving = (reading.vehicles - reading.halting).max(0.0);
        let share = x
            .lengths
            .get(lane)
            .map_or(1.0, |length| (DETECTION_RANGE / length.max(1.0)).min(1.0));
        let upstream: f64 = x
            .feeders
            .iter()
            .enumerate()
            .filter(|(_, f)| f.into == lane)
            .map(|(i, f)| {
                let covered = (DETECTION_RANGE - f.offset).clamp(0.0, f.length);
                self.lanes[x.lanes.len() + i].vehicles * covered / f.length.max(1.0)
            })
            .sum();
        reading.halting + moving * share + upstream
    }
}

/// How far from the stop line a controller sees approaching vehicles, metres (the reach of a
/// camera or of a long lane-area detector).
pub const DETECTION_RANGE: f64 = 200.0;

/// Chooses the next green phase of one intersection. One instance per intersection.
pub trait Controller: Send {
    /// The green phase to show next (the current one to keep it).
    fn decide(&mut self, view: &View<'_>) -> usize;
}

/// The controllers Parvis ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The network's own fixed-time programs; Parvis does not touch the signals.
    Fixed,
    /// Max-pressure (Varaiya 2013): the phase whose movements have the most vehicles upstream
    /// minus downstream.
    MaxPressure,
    /// Queue-greedy: the phase with the most vehicles on the lanes it serves.
    Greedy,
    /// Parvis's adaptive controller: see [`Wave`].
    Wave,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Fixed, Kind::MaxPressure, Kind::Greedy, Kind::Wave];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Fixed => "fixed",
            Kind::MaxPressure => "max-pressure",
            Kind::Greedy => "greedy",
            Kind::Wave => "wave",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A controller for one intersection; `None` for the fixed programs.
    pub fn controller(self) -> Option<Box<dyn Controller>> {
        match self {
            Kind::Fixed => None,
            Kind::MaxPressure => Some(Box::new(MaxPressure)),
            Kind::Greedy => Some(Box::new(Greedy)),
            Kind::Wave => Some(Box::new(Wave)),
        }
    }

    /// Seconds between decisions, given the benchmark's convention `default`.
    pub fn decision_interval(self, default: f64) -> f64 {
        match self {
            Kind::Wave => WAVE_INTERVAL.min(default),
            _ => default,
        }
    }
}

fn argmax(count: usize, score: impl Fn(usize) -> f64) -> usize {
    (0..count)
        .map(|p| (p, score(p)))
        .fold((0, f64::NEG_INFINITY), |best, (p, s)| {
            if s > best.1 { (p, s) } else { best }
        })
        .0
}

/// Max-pressure (Varaiya 2013).
pub struct MaxPressure;

impl Controller for MaxPressure {
    fn decide(&mut self, view: &View<'_>) -> usize {
        argmax(view.intersection.greens.len(), |p| {
            view.intersection.greens[p]
                .movements
                .iter()
                .map(|(from, to)| view.near(*from) - view.near(*to))
                .sum()
        })
    }
}

/// Queue-greedy: most vehicles (queued and approaching) on the lanes served.
pub struct Greedy;

impl Controller for Greedy {
    fn decide(&mut self, view: &View<'_>) -> usize {
        argmax(view.intersection.greens.len(), |p| view.demand(p))
    }
}

/// Seconds between two decisions of [`Wave`].
const WAVE_INTERVAL: f64 = 5.0;
/// Weight of a queued (halting) vehicle against a moving one within detection range.
const WAVE_QUEUE_WEIGHT: f64 = 2.0;
/// Weight of a minute of accumulated waiting on a lane, in vehicles.
const WAVE_WAITING_WEIGHT: f64 = 1.0;

/// Parvis's adaptive controller: every 5 s (instead of RESCO's 10 s), the phase whose
/// approaches hold the most urgent demand within detection range goes green — queued
/// vehicles count twice a moving one, and each minute of waiting accumulated on a lane counts
/// one vehicle more, so that a long-waiting minor approach is not left to the maximum-red
/// guard. Upstream feeder lanes extend short approaches to the detection range. No training,
/// no per-network constant: the three constants above were chosen on synthetic networks
/// (`crates/mobility/scenarios/make-tuning.sh`), never on the RESCO maps.
#[derive(Debug, Default)]
pub struct Wave;

impl Controller for Wave {
    fn decide(&mut self, view: &View<'_>) -> usize {
        let x = view.intersection;
        argmax(x.greens.len(), |p| {
            x.served_lanes(p)
                .map(|lane| {
                    let reading = &view.lanes[lane];
                    let moving = view.near(lane) - reading.halting;
                    WAVE_QUEUE_WEIGHT * reading.halting
                        + moving
                        + WAVE_WAITING_WEIGHT * reading.waiting / 60.0
                })
                .sum()
        })
    }
}

/// Safety timings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Seconds between decisions (a change's yellow included).
    pub decision: f64,
    pub yellow: f64,
    pub min_green: f64,
    /// An incoming lane with waiting vehicles that no green has served for this long is served
    /// next, whatever the controller says.
    pub max_red: f64,
}

impl Timing {
    /// RESCO's conventions: decisions every 10 s with 3 s of yellow (5 s and 2 s on arterial4x4).
    pub fn resco(scenario: &str) -> Timing {
        let (decision, yellow) = if scenario == "arterial4x4" {
            (5.0, 2.0)
        } else {
            (10.0, 3.0)
        };
        Timing {
            decision,
            yellow,
            min_green: 5.0,
            max_red: 120.0,
        }
    }
}

/// A plan change: an intersection switches to another green phase.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlanChange {
    pub time: f64,
    pub intersection: String,
    pub from_phase: usize,
    pub to_phase: usize,
    pub state: String,
    /// Why: `controller` or `max-red` (the starvation guard overrode the controller).
    pub reason: &'static str,
    /// The decision's computing time, microseconds.
    pub decision_us: f64,
}

/// The status of one intersection, for the dashboard.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IntersectionStatus {
    pub id: String,
    pub phase: usize,
    pub phases: usize,
    pub state: String,
    pub yellow: bool,
    pub queue: f64,
}

#[derive(Debug, Clone, Copy)]
enum Signal {
    Green { phase: usize, since: f64 },
    Yellow { to: usize, until: f64 },
}

/// Counters of a controlled run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RunStats {
    pub decisions: u64,
    pub changes: u64,
    pub max_red_overrides: u64,
    /// Total controller computing time, microseconds.
    pub decision_us_total: f64,
    pub decision_us_max: f64,
}

/// Drives the signals of `intersections` until simulated time `end`.
pub struct Driver {
    intersections: Vec<Intersection>,
    controllers: Vec<Box<dyn Controller>>,
    signals: Vec<Signal>,
    last_green: Vec<Vec<f64>>,
    /// Per intersection and incoming lane, when a green last served it.
    last_served: Vec<Vec<f64>>,
    next_decision: Vec<f64>,
    timing: Timing,
    pub stats: RunStats,
    readings: HashMap<String, LaneReading>,
    now: f64,
}

impl Driver {
    /// Reads every traffic light of the running simulation and builds its intersection.
    pub fn discover(client: &mut Client) -> Result<Vec<Intersection>, DriveError> {
        let mut out = Vec::new();
        for id in client.traffic_lights()? {
            let links = client.tl_controlled_links(&id)?;
            let programs = client.tl_programs(&id)?;
            let program = programs
                .first()
                .ok_or_else(|| DriveError::Signal(format!("traffic light {id} has no program")))?;
            out.push(
                Intersection::new(&id, &links, program)
                    .map_err(|e| DriveError::Signal(e.to_string()))?,
            );
        }
        Self::measure(client, &mut out)?;
        Ok(out)
    }

    /// Reads lane lengths and, for incoming lanes shorter than the detection range, the lanes
    /// upstream of them (through junctions without signals) up to the range.
    fn measure(client: &mut Client, intersections: &mut [Intersection]) -> Result<(), DriveError> {
        let lanes: Vec<String> = client
            .lanes()?
            .into_iter()
            .filter(|lane| !lane.starts_with(':'))
            .collect();
        let successors = client.lane_successors(&lanes)?;
        let gets: Vec<Get<'_>> = lanes
            .iter()
            .map(|lane| Get {
                command: cmd::GET_LANE,
                variable: var::LANE_LENGTH,
                object: lane,
            })
            .collect();
        let lengths: HashMap<&str, f64> = lanes
            .iter()
            .map(String::as_str)
            .zip(
                client
                    .get_many(&gets)?
                    .iter()
                    .map(|v| v.as_f64())
                    .collect::<Result<Vec<_>, _>>()?,
            )
            .collect();
        let mut predecessors: HashMap<&str, Vec<&str>> = HashMap::new();
        for (lane, next) in lanes.iter().zip(&successors) {
            for to in next {
                if let Some((to, _)) = lengths.get_key_value(to.as_str()) {
                    predecessors.entry(to).or_default().push(lane);
                }
            }
        }
        let signalled: std::collections::HashSet<String> = intersections
            .iter()
            .flat_map(|x| x.lanes[..x.incoming].iter().cloned())
            .collect();
        for x in intersections.iter_mut() {
            x.lengths = x
                .lanes
                .iter()
                .map(|lane| lengths.get(lane.as_str()).copied().unwrap_or(f64::INFINITY))
                .collect();
            let mut feeders = Vec::new();
            for into in 0..x.incoming {
                let mut frontier: Vec<(&str, f64)> =
                    vec![(x.lanes[into].as_str(), x.lengths[into])];
                let mut seen: Vec<&str> = vec![x.lanes[into].as_str()];
                while let Some((lane, reach)) = frontier.pop() {
                    if reach >= DETECTION_RANGE {
                        continue;
                    }
                    for before in predecessors.get(lane).into_iter().flatten() {
                        if seen.contains(before) || signalled.contains(*before) {
                            continue;
                        }
                        seen.push(before);
                        let length = lengths.get(before).copied().unwrap_or(0.0);
                        feeders.push(Feeder {
                            lane: (*before).to_owned(),
                            into,
                            offset: reach,
                            length,
                        });
                        frontier.push((before, reach + length));
                    }
                }
            }
            x.feeders = feeders;
        }
        Ok(())
    }

    /// A driver running `kind` on every intersection; `None` for [`Kind::Fixed`], which leaves
    /// the signals to their own programs.
    pub fn new(intersections: Vec<Intersection>, kind: Kind, timing: Timing) -> Option<Driver> {
        let controllers = intersections
            .iter()
            .map(|_| kind.controller())
            .collect::<Option<Vec<_>>>()?;
        let count = intersections.len();
        let last_green = intersections
            .iter()
            .map(|x| vec![0.0; x.greens.len()])
            .collect();
        let last_served = intersections
            .iter()
            .map(|x| vec![0.0; x.incoming])
            .collect();
        Some(Driver {
            last_served,
            intersections,
            controllers,
            signals: vec![
                Signal::Green {
                    phase: 0,
                    since: 0.0
                };
                count
            ],
            last_green,
            next_decision: vec![0.0; count],
            timing: Timing {
                decision: kind.decision_interval(timing.decision),
                ..timing
            },
            stats: RunStats::default(),
            readings: HashMap::new(),
            now: 0.0,
        })
    }

    /// Simulated time of the last decision round, seconds.
    pub fn now(&self) -> f64 {
        self.now
    }

    pub fn intersections(&self) -> &[Intersection] {
        &self.intersections
    }

    /// The current status of every intersection.
    pub fn status(&self) -> Vec<IntersectionStatus> {
        self.intersections
            .iter()
            .zip(&self.signals)
            .map(|(x, signal)| {
                let (phase, yellow) = match signal {
                    Signal::Green { phase, .. } => (*phase, false),
                    Signal::Yellow { to, .. } => (*to, true),
                };
                let queue = x.lanes[..x.incoming]
                    .iter()
                    .filter_map(|lane| self.readings.get(lane))
                    .map(|r| r.halting)
                    .sum();
                IntersectionStatus {
                    id: x.id.clone(),
                    phase,
                    phases: x.greens.len(),
                    state: x.greens[phase].state.clone(),
                    yellow,
                    queue,
                }
            })
            .collect()
    }

    /// Runs until `end` (simulated seconds) or until no vehicle is left in or expected by the
    /// simulation, calling `on_change` for every plan change and
    /// `on_tick` after every decision round.
    pub fn run(
        &mut self,
        client: &mut Client,
        end: f64,
        mut on_change: impl FnMut(&PlanChange),
        mut on_tick: impl FnMut(&Driver),
    ) -> Result<(), DriveError> {
        let mut now = client.time()?;
        let initial: Vec<(String, String)> = self
            .intersections
            .iter()
            .map(|x| (x.id.clone(), x.greens[0].state.clone()))
            .collect();
        set_states(client, &initial)?;
        for (i, signal) in self.signals.iter_mut().enumerate() {
            *signal = Signal::Green {
                phase: 0,
                since: now,
            };
            self.last_green[i].iter_mut().for_each(|t| *t = now);
            self.last_served[i].iter_mut().for_each(|t| *t = now);
            self.next_decision[i] = now + self.timing.decision;
        }
        while now < end {
            let mut changes: Vec<(String, String)> = Vec::new();
            // Yellows that end now: the new green shows.
            for i in 0..self.signals.len() {
                if let Signal::Yellow { to, until } = self.signals[i]
                    && until <= now
                {
                    self.signals[i] = Signal::Green {
                        phase: to,
                        since: now,
                    };
                    changes.push((
                        self.intersections[i].id.clone(),
                        self.intersections[i].greens[to].state.clone(),
                    ));
                }
            }
            let due: Vec<usize> = (0..self.signals.len())
                .filter(|&i| {
                    matches!(self.signals[i], Signal::Green { .. }) && self.next_decision[i] <= now
                })
                .collect();
            if !due.is_empty() {
                self.now = now;
                self.read(client, &due)?;
                for i in due {
                    if let Some(change) = self.decide(i, now) {
                        changes.push((
                            change.intersection.clone(),
                            yellow_between(
                                &self.intersections[i].greens[change.from_phase].state,
                                &change.state,
                            ),
                        ));
                        on_change(&change);
                    }
                }
                on_tick(self);
            }
            set_states(client, &changes)?;
            let next = self
                .signals
                .iter()
                .zip(&self.next_decision)
                .map(|(signal, decision)| match signal {
                    Signal::Yellow { until, .. } => *until,
                    Signal::Green { .. } => *decision,
                })
                .fold(end, f64::min)
                .max(now + 1.0);
            client.step_until(next)?;
            // Once a simulated minute, whether the simulation still has vehicles to come.
            if (next / 60.0).floor() > (now / 60.0).floor() && client.min_expected_vehicles()? == 0
            {
                break;
            }
            now = next;
        }
        Ok(())
    }

    fn read(&mut self, client: &mut Client, due: &[usize]) -> Result<(), DriveError> {
        self.readings.clear();
        let mut lanes: Vec<&str> = Vec::new();
        let mut wanted: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for &i in due {
            let x = &self.intersections[i];
            for lane in x.lanes.iter().chain(x.feeders.iter().map(|f| &f.lane)) {
                if wanted.insert(lane) {
                    lanes.push(lane);
                }
            }
        }
        let gets: Vec<Get<'_>> = lanes
            .iter()
            .flat_map(|lane| {
                [
                    var::LAST_STEP_VEHICLE_NUMBER,
                    var::LAST_STEP_HALTING_NUMBER,
                    var::WAITING_TIME,
                ]
                .map(|variable| Get {
                    command: cmd::GET_LANE,
                    variable,
                    object: lane,
                })
            })
            .collect();
        let values = client.get_many(&gets)?;
        for (lane, chunk) in lanes.iter().zip(values.chunks(3)) {
            self.readings.insert(
                (*lane).to_owned(),
                LaneReading {
                    vehicles: chunk[0].as_f64()?,
                    halting: chunk[1].as_f64()?,
                    waiting: chunk[2].as_f64()?,
                },
            );
        }
        Ok(())
    }

    fn decide(&mut self, i: usize, now: f64) -> Option<PlanChange> {
        let Signal::Green { phase, since } = self.signals[i] else {
            return None;
        };
        let x = &self.intersections[i];
        let lanes: Vec<LaneReading> = x
            .lanes
            .iter()
            .chain(x.feeders.iter().map(|f| &f.lane))
            .map(|lane| self.readings.get(lane).copied().unwrap_or_default())
            .collect();
        let red_for: Vec<f64> = self.last_green[i]
            .iter()
            .enumerate()
            .map(|(p, t)| if p == phase { 0.0 } else { now - t })
            .collect();
        let view = View {
            intersection: x,
            lanes: &lanes,
            current: phase,
            green_for: now - since,
            red_for: &red_for,
            yellow: self.timing.yellow,
            time: now,
        };
        let started = std::time::Instant::now();
        let mut choice = self.controllers[i].decide(&view).min(x.greens.len() - 1);
        let decision_us = started.elapsed().as_secs_f64() * 1e6;
        self.stats.decisions += 1;
        self.stats.decision_us_total += decision_us;
        self.stats.decision_us_max = self.stats.decision_us_max.max(decision_us);
        let mut reason = "controller";
        // Minimum green.
        if view.green_for < self.timing.min_green {
            choice = phase;
        }
        // Maximum red, per lane: a phase's own red time says nothing of its lanes when another
        // phase serves them too (a permissive left turn in the through phase), so starvation is
        // measured on the incoming lanes. The longest-starved queued lane is served next, by
        // the phase serving it with the most demand, unless the controller's choice serves it.
        for lane in x.served_lanes(phase) {
            self.last_served[i][lane] = now;
        }
        let served = &self.last_served[i];
        let starved = (0..x.incoming)
            .filter(|&lane| {
                now - served[lane] >= self.timing.max_red
                    && lanes[lane].halting > 0.0
                    && (0..x.greens.len()).any(|p| x.served_lanes(p).any(|l| l == lane))
            })
            .min_by(|a, b| served[*a].total_cmp(&served[*b]));
        if let Some(starved) = starved
            && view.green_for >= self.timing.min_green
            && !x.served_lanes(choice).any(|lane| lane == starved)
        {
            choice = argmax(x.greens.len(), |p| {
                if x.served_lanes(p).any(|lane| lane == starved) {
                    view.demand(p)
                } else {
                    f64::NEG_INFINITY
                }
            });
            reason = "max-red";
            self.stats.max_red_overrides += 1;
        }
        self.next_decision[i] = now + self.timing.decision;
        self.last_green[i][phase] = now;
        if choice == phase {
            return None;
        }
        self.stats.changes += 1;
        self.signals[i] = Signal::Yellow {
            to: choice,
            until: now + self.timing.yellow,
        };
        Some(PlanChange {
            time: now,
            intersection: x.id.clone(),
            from_phase: phase,
            to_phase: choice,
            state: x.greens[choice].state.clone(),
            reason,
            decision_us,
        })
    }
}

fn set_states(client: &mut Client, states: &[(String, String)]) -> Result<(), TraciError> {
    let refs: Vec<(&str, &str)> = states
        .iter()
        .map(|(id, state)| (id.as_str(), state.as_str()))
        .collect();
    client.set_many_tl_states(&refs)
}

#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Traci(#[from] traci::TraciError),
    #[error("{0}")]
    Signal(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::tests::{link, phase};
    use crate::traci::Program;

    /// Two approaches: north (lane `n`, through to `s` and left to `w`) and east (lane `e` to
    /// `w`). Phase 0 gives north its through movement and a permissive left; phase 1 is
    /// north's protected left; phase 2 serves east.
    fn crossing() -> Intersection {
        let links = vec![link("n", "s"), link("n", "w"), link("e", "w")];
        let program = Program {
            id: "0".into(),
            phases: vec![phase("Ggr"), phase("rGr"), phase("rrG")],
        };
        Intersection::new("x", &links, &program).unwrap()
    }

    /// A controller that always keeps phase 0.
    struct Stubborn;
    impl Controller for Stubborn {
        fn decide(&mut self, _: &View<'_>) -> usize {
            0
        }
    }

    fn driver(queues: &[(&str, f64)]) -> Driver {
        let timing = Timing {
            decision: 10.0,
            yellow: 3.0,
            min_green: 5.0,
            max_red: 120.0,
        };
        let mut driver = Driver::new(vec![crossing()], Kind::Greedy, timing).unwrap();
        driver.controllers = vec![Box::new(Stubborn)];
        for (lane, halting) in queues {
            driver.readings.insert(
                (*lane).to_owned(),
                LaneReading {
                    vehicles: *halting,
                    halting: *halting,
                    waiting: 0.0,
                },
            );
        }
        driver
    }

    #[test]
    fn a_lane_served_permissively_is_not_starved_by_its_protected_phase() {
        // North's left-turn lane waits, but phase 0 serves it: the protected left (phase 1)
        // has been "red" for 200 s and must not be forced.
        let mut d = driver(&[("n", 4.0)]);
        for now in (10..=200).step_by(10) {
            assert_eq!(d.decide(0, now as f64), None, "at {now} s");
        }
        assert_eq!(d.stats.max_red_overrides, 0);
    }

    #[test]
    fn a_queued_lane_no_green_serves_is_served_after_the_maximum_red() {
        let mut d = driver(&[("n", 4.0), ("e", 2.0)]);
        let mut change = None;
        for now in (10..=200).step_by(10) {
            if let Some(c) = d.decide(0, now as f64) {
                change = Some((now, c));
                break;
            }
        }
        let (now, change) = change.expect("the east approach is served");
        assert_eq!(now, 120);
        assert_eq!((change.to_phase, change.reason), (2, "max-red"));
    }
}
