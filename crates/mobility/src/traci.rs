//! A client for TraCI, SUMO's control protocol (TCP, big-endian, length-prefixed messages of
//! commands with typed values), covering what signal control needs: stepping, traffic lights,
//! lanes, lane-area detectors, vehicles.
//!
//! Written here rather than taken from `traci-rs` (young, one maintainer, EPL-2.0, no lane-area
//! getters): the subset is a dozen commands, and batching many reads in one message — which a
//! controller needs to read every lane of a city in one round trip — is this module's point.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Command identifiers (SUMO's `tools/traci/constants.py`).
pub mod cmd {
    pub const GET_VERSION: u8 = 0x00;
    pub const SIMULATION_STEP: u8 = 0x02;
    pub const CLOSE: u8 = 0x7F;
    pub const GET_TL: u8 = 0xA2;
    pub const GET_LANE: u8 = 0xA3;
    pub const GET_VEHICLE: u8 = 0xA4;
    pub const GET_LANE_AREA: u8 = 0xAD;
    pub const GET_SIMULATION: u8 = 0xAB;
    pub const SET_TL: u8 = 0xC2;
    pub const SET_VEHICLE: u8 = 0xC4;
}

/// Variable identifiers.
pub mod var {
    pub const ID_LIST: u8 = 0x00;
    pub const LAST_STEP_VEHICLE_NUMBER: u8 = 0x10;
    pub const LAST_STEP_MEAN_SPEED: u8 = 0x11;
    pub const LAST_STEP_OCCUPANCY: u8 = 0x13;
    pub const LAST_STEP_HALTING_NUMBER: u8 = 0x14;
    pub const JAM_LENGTH_VEHICLE: u8 = 0x18;
    pub const JAM_LENGTH_METERS: u8 = 0x19;
    pub const TL_RED_YELLOW_GREEN_STATE: u8 = 0x20;
    pub const TL_PHASE_INDEX: u8 = 0x22;
    pub const TL_PROGRAM: u8 = 0x23;
    pub const TL_PHASE_DURATION: u8 = 0x24;
    pub const TL_CONTROLLED_LANES: u8 = 0x26;
    pub const TL_CONTROLLED_LINKS: u8 = 0x27;
    pub const TL_CURRENT_PHASE: u8 = 0x28;
    pub const TL_COMPLETE_DEFINITION: u8 = 0x2B;
    pub const TL_NEXT_SWITCH: u8 = 0x2D;
    pub const LANE_LINKS: u8 = 0x33;
    pub const LANE_LENGTH: u8 = 0x44;
    pub const WAITING_TIME: u8 = 0x7A;
    pub const TIME: u8 = 0x66;
    pub const MIN_EXPECTED_VEHICLES: u8 = 0x7D;
    pub const REROUTE_TRAVEL_TIME: u8 = 0x90;
}

/// Value type tags.
mod tag {
    pub const UBYTE: u8 = 0x07;
    pub const BYTE: u8 = 0x08;
    pub const INT: u8 = 0x09;
    pub const DOUBLE: u8 = 0x0B;
    pub const STRING: u8 = 0x0C;
    pub const STRING_LIST: u8 = 0x0E;
    pub const COMPOUND: u8 = 0x0F;
    pub const DOUBLE_LIST: u8 = 0x10;
}

#[derive(Debug, thiserror::Error)]
pub enum TraciError {
    #[error("TraCI connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("SUMO refused command 0x{command:02x}: {message}")]
    Refused { command: u8, message: String },
    #[error("unexpected TraCI answer: {0}")]
    Protocol(String),
}

pub type Result<T> = std::result::Result<T, TraciError>;

/// A typed TraCI value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i32),
    Double(f64),
    Str(String),
    StrList(Vec<String>),
    DoubleList(Vec<f64>),
    Compound(Vec<Value>),
}

impl Value {
    pub fn as_i32(&self) -> Result<i32> {
        match self {
            Value::Int(v) => Ok(*v),
            other => Err(TraciError::Protocol(format!(
                "expected an integer, got {other:?}"
            ))),
        }
    }

    pub fn as_f64(&self) -> Result<f64> {
        match self {
            Value::Double(v) => Ok(*v),
            Value::Int(v) => Ok(f64::from(*v)),
            other => Err(TraciError::Protocol(format!(
                "expected a double, got {other:?}"
            ))),
        }
    }

    pub fn as_str(&self) -> Result<&str> {
        match self {
            Value::Str(v) => Ok(v),
            other => Err(TraciError::Protocol(format!(
                "expected a string, got {other:?}"
            ))),
        }
    }

    pub fn into_strings(self) -> Result<Vec<String>> {
        match self {
            Value::StrList(v) => Ok(v),
            other => Err(TraciError::Protocol(format!(
                "expected a string list, got {other:?}"
            ))),
        }
    }

    fn into_items(self) -> Result<Vec<Value>> {
        match self {
            Value::Compound(v) => Ok(v),
            other => Err(TraciError::Protocol(format!(
                "expected a compound, got {other:?}"
            ))),
        }
    }
}

/// One read: `(get command, variable, object id)`.
#[derive(Debug, Clone, Copy)]
pub struct Get<'a> {
    pub command: u8,
    pub variable: u8,
    pub object: &'a str,
}

/// A phase of a traffic-light program.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub duration: f64,
    /// One character per controlled link: `G` `g` green, `y` yellow, `r` red, `s`, `u`, `o`, `O`.
    pub state: String,
    pub min_duration: f64,
    pub max_duration: f64,
}

/// A traffic-light program.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub id: String,
    pub phases: Vec<Phase>,
}

/// A controlled link: incoming lane, outgoing lane, internal lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub from: String,
    pub to: String,
    pub via: String,
}

/// A connection to a SUMO instance started with `--remote-port`.
pub struct Client {
    stream: TcpStream,
    out: Vec<u8>,
    commands: Vec<u8>,
}

impl Client {
    /// Connects, retrying until `timeout` while SUMO starts.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Client> {
        let started = Instant::now();
        loop {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    // A simulation step of a city network takes well under this; a silent
                    // SUMO is a dead one.
                    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
                    return Ok(Client {
                        stream,
                        out: Vec::new(),
                        commands: Vec::new(),
                    });
                }
                Err(error) if started.elapsed() < timeout => {
                    tracing::trace!(%error, "SUMO not listening yet");
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// `(TraCI API version, SUMO version)`.
    pub fn version(&mut self) -> Result<(i32, String)> {
        self.push(cmd::GET_VERSION, &[]);
        let answer = self.exchange()?;
        let mut reader = Reader::new(&answer);
        reader.status(cmd::GET_VERSION)?;
        let (id, mut body) = reader.command()?;
        if id != cmd::GET_VERSION {
            return Err(TraciError::Protocol(format!("version answer 0x{id:02x}")));
        }
        let api = body.i32()?;
        let version = body.string()?;
        Ok((api, version))
    }

    /// Advances the simulation to `until` seconds (one step when `until` is 0 or not ahead).
    pub fn step_until(&mut self, until: f64) -> Result<()> {
        self.push(cmd::SIMULATION_STEP, &until.to_be_bytes());
        let answer = self.exchange()?;
        let mut reader = Reader::new(&answer);
        reader.status(cmd::SIMULATION_STEP)?;
        let subscriptions = reader.i32()?;
        if subscriptions != 0 {
            return Err(TraciError::Protocol(format!(
                "{subscriptions} subscription results; this client subscribes to nothing"
            )));
        }
        Ok(())
    }

    /// Reads many variables in one message (one round trip), answers in order.
    pub fn get_many(&mut self, gets: &[Get<'_>]) -> Result<Vec<Value>> {
        if gets.is_empty() {
            return Ok(Vec::new());
        }
        for get in gets {
            let mut payload = vec![get.variable];
            put_string(&mut payload, get.object);
            self.push(get.command, &payload);
        }
        let answer = self.exchange()?;
        let mut reader = Reader::new(&answer);
        let mut values = Vec::with_capacity(gets.len());
        for get in gets {
            reader.status(get.command)?;
            let (id, mut body) = reader.command()?;
            let variable = body.u8()?;
            let object = body.string()?;
            if id != get.command + 0x10 || variable != get.variable || object != get.object {
                return Err(TraciError::Protocol(format!(
                    "answer 0x{id:02x}/0x{variable:02x}/{object} to 0x{:02x}/0x{:02x}/{}",
                    get.command, get.variable, get.object
                )));
            }
            values.push(body.value()?);
        }
        Ok(values)
    }

    pub fn get(&mut self, command: u8, variable: u8, object: &str) -> Result<Value> {
        let mut values = self.get_many(&[Get {
            command,
            variable,
            object,
        }])?;
        Ok(values.remove(0))
    }

    /// Simulated time, seconds.
    pub fn time(&mut self) -> Result<f64> {
        self.get(cmd::GET_SIMULATION, var::TIME, "")?.as_f64()
    }

    /// Vehicles in the network plus those still to be inserted.
    pub fn min_expected_vehicles(&mut self) -> Result<i32> {
        self.get(cmd::GET_SIMULATION, var::MIN_EXPECTED_VEHICLES, "")?
            .as_i32()
    }

    pub fn lanes(&mut self) -> Result<Vec<String>> {
        self.get(cmd::GET_LANE, var::ID_LIST, "")?.into_strings()
    }

    /// The lanes each of `lanes` leads to (their outgoing connections), in one round trip.
    pub fn lane_successors(&mut self, lanes: &[String]) -> Result<Vec<Vec<String>>> {
        let gets: Vec<Get<'_>> = lanes
            .iter()
            .map(|lane| Get {
                command: cmd::GET_LANE,
                variable: var::LANE_LINKS,
                object: lane,
            })
            .collect();
        self.get_many(&gets)?
            .into_iter()
            .map(|value| {
                // A count, then eight typed values per link, the approached lane first.
                let items = value.into_items()?;
                Ok(items
                    .get(1..)
                    .unwrap_or_default()
                    .chunks(8)
                    .filter_map(|link| link.first()?.as_str().ok().map(str::to_owned))
                    .collect())
            })
            .collect()
    }

    pub fn traffic_lights(&mut self) -> Result<Vec<String>> {
        self.get(cmd::GET_TL, var::ID_LIST, "")?.into_strings()
    }

    pub fn tl_phase(&mut self, tl: &str) -> Result<i32> {
        self.get(cmd::GET_TL, var::TL_CURRENT_PHASE, tl)?.as_i32()
    }

    pub fn tl_state(&mut self, tl: &str) -> Result<String> {
        Ok(self
            .get(cmd::GET_TL, var::TL_RED_YELLOW_GREEN_STATE, tl)?
            .as_str()?
            .to_owned())
    }

    pub fn tl_controlled_lanes(&mut self, tl: &str) -> Result<Vec<String>> {
        self.get(cmd::GET_TL, var::TL_CONTROLLED_LANES, tl)?
            .into_strings()
    }

    /// The links of each signal index: `links[i]` are the connections that state character `i`
    /// controls.
    pub fn tl_controlled_links(&mut self, tl: &str) -> Result<Vec<Vec<Link>>> {
        let items = self
            .get(cmd::GET_TL, var::TL_CONTROLLED_LINKS, tl)?
            .into_items()?;
        let mut items = items.into_iter();
        let mut next = || {
            items
                .next()
                .ok_or_else(|| TraciError::Protocol("truncated controlled links".into()))
        };
        let signals = next()?.as_i32()?;
        let mut out = Vec::new();
        for _ in 0..signals {
            let count = next()?.as_i32()?;
            let mut links = Vec::new();
            for _ in 0..count {
                let lanes = next()?.into_strings()?;
                if let [from, to, via] = lanes.as_slice() {
                    links.push(Link {
                        from: from.clone(),
                        to: to.clone(),
                        via: via.clone(),
                    });
                }
            }
            out.push(links);
        }
        Ok(out)
    }

    /// Every program of a traffic light (its complete definition).
    pub fn tl_programs(&mut self, tl: &str) -> Result<Vec<Program>> {
        let logics = self
            .get(cmd::GET_TL, var::TL_COMPLETE_DEFINITION, tl)?
            .into_items()?;
        logics.into_iter().map(parse_logic).collect()
    }

    pub fn set_tl_phase(&mut self, tl: &str, phase: i32) -> Result<()> {
        let mut payload = vec![var::TL_PHASE_INDEX];
        put_string(&mut payload, tl);
        payload.push(tag::INT);
        payload.extend_from_slice(&phase.to_be_bytes());
        self.set(cmd::SET_TL, payload)
    }

    pub fn set_tl_state(&mut self, tl: &str, state: &str) -> Result<()> {
        self.set_many_tl_states(&[(tl, state)])
    }

    /// Sets the signal states of several traffic lights in one message.
    pub fn set_many_tl_states(&mut self, states: &[(&str, &str)]) -> Result<()> {
        if states.is_empty() {
            return Ok(());
        }
        for (tl, state) in states {
            let mut payload = vec![var::TL_RED_YELLOW_GREEN_STATE];
            put_string(&mut payload, tl);
            payload.push(tag::STRING);
            put_string(&mut payload, state);
            self.push(cmd::SET_TL, &payload);
        }
        let answer = self.exchange()?;
        let mut reader = Reader::new(&answer);
        for _ in states {
            reader.status(cmd::SET_TL)?;
        }
        Ok(())
    }

    /// Re-routes a vehicle by the current travel times.
    pub fn reroute_by_travel_time(&mut self, vehicle: &str) -> Result<()> {
        let mut payload = vec![var::REROUTE_TRAVEL_TIME];
        put_string(&mut payload, vehicle);
        payload.push(tag::COMPOUND);
        payload.extend_from_slice(&0i32.to_be_bytes());
        self.set(cmd::SET_VEHICLE, payload)
    }

    /// Ends the simulation (SUMO writes its outputs and exits).
    pub fn close(mut self) -> Result<()> {
        self.push(cmd::CLOSE, &[]);
        let answer = self.exchange()?;
        Reader::new(&answer).status(cmd::CLOSE)
    }

    fn set(&mut self, command: u8, payload: Vec<u8>) -> Result<()> {
        self.push(command, &payload);
        let answer = self.exchange()?;
        Reader::new(&answer).status(command)
    }

    fn push(&mut self, command: u8, payload: &[u8]) {
        let length = payload.len() + 2;
        if length <= 255 {
            self.out.push(length as u8);
        } else {
            self.out.push(0);
            self.out
                .extend_from_slice(&((length + 4) as i32).to_be_bytes());
        }
        self.out.push(command);
        self.out.extend_from_slice(payload);
        self.commands.push(command);
    }

    /// Sends the queued commands as one message and reads the answer message.
    fn exchange(&mut self) -> Result<Vec<u8>> {
        let total = (self.out.len() + 4) as i32;
        let mut message = Vec::with_capacity(self.out.len() + 4);
        message.extend_from_slice(&total.to_be_bytes());
        message.append(&mut self.out);
        self.commands.clear();
        self.stream.write_all(&message)?;
        let mut header = [0u8; 4];
        self.stream.read_exact(&mut header)?;
        let length = i32::from_be_bytes(header);
        if length < 4 {
            return Err(TraciError::Protocol(format!("message length {length}")));
        }
        let mut answer = vec![0u8; length as usize - 4];
        self.stream.read_exact(&mut answer)?;
        Ok(answer)
    }
}

fn put_string(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as i32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn parse_logic(logic: Value) -> Result<Program> {
    let items = logic.into_items()?;
    let [id, _kind, _current, phases, ..] = items.as_slice() else {
        return Err(TraciError::Protocol("short traffic-light logic".into()));
    };
    let Value::Compound(phases) = phases else {
        return Err(TraciError::Protocol("traffic-light phases".into()));
    };
    let phases = phases
        .iter()
        .map(|phase| match phase {
            Value::Compound(fields) if fields.len() >= 4 => Ok(Phase {
                duration: fields[0].as_f64()?,
                state: fields[1].as_str()?.to_owned(),
                min_duration: fields[2].as_f64()?,
                max_duration: fields[3].as_f64()?,
            }),
            other => Err(TraciError::Protocol(format!("phase {other:?}"))),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Program {
        id: id.as_str()?.to_owned(),
        phases,
    })
}

/// Reads an answer message.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at + n;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| TraciError::Protocol("truncated answer".into()))?;
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn i32(&mut self) -> Result<i32> {
        let bytes = self.take(4)?;
        Ok(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn f64(&mut self) -> Result<f64> {
        let bytes = self.take(8)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(f64::from_be_bytes(array))
    }

    fn count(&mut self) -> Result<usize> {
        let n = self.i32()?;
        usize::try_from(n).map_err(|_| TraciError::Protocol(format!("negative count {n}")))
    }

    fn string(&mut self) -> Result<String> {
        let n = self.count()?;
        let bytes = self.take(n)?;
        // TraCI strings are Latin-1.
        Ok(bytes.iter().map(|&b| char::from(b)).collect())
    }

    /// A command's length prefix; the reader over its content (after the id) and its id.
    fn command(&mut self) -> Result<(u8, Reader<'a>)> {
        let short = self.u8()?;
        let content = if short > 0 {
            usize::from(short) - 1
        } else {
            self.count()?
                .checked_sub(5)
                .ok_or_else(|| TraciError::Protocol("command length".into()))?
        };
        let body = self.take(content)?;
        let (id, rest) = body
            .split_first()
            .ok_or_else(|| TraciError::Protocol("empty command".into()))?;
        Ok((*id, Reader::new(rest)))
    }

    /// A status block; an error unless SUMO accepted `command`.
    fn status(&mut self, command: u8) -> Result<()> {
        let (id, mut body) = self.command()?;
        let result = body.u8()?;
        let message = body.string()?;
        if id != command {
            return Err(TraciError::Protocol(format!(
                "status for 0x{id:02x}, expected 0x{command:02x}"
            )));
        }
        if result != 0 {
            return Err(TraciError::Refused { command, message });
        }
        Ok(())
    }

    fn value(&mut self) -> Result<Value> {
        let kind = self.u8()?;
        Ok(match kind {
            tag::UBYTE => Value::Int(i32::from(self.u8()?)),
            tag::BYTE => Value::Int(i32::from(self.u8()? as i8)),
            tag::INT => Value::Int(self.i32()?),
            tag::DOUBLE => Value::Double(self.f64()?),
            tag::STRING => Value::Str(self.string()?),
            tag::STRING_LIST => {
                let n = self.count()?;
                Value::StrList((0..n).map(|_| self.string()).collect::<Result<_>>()?)
            }
            tag::DOUBLE_LIST => {
                let n = self.count()?;
                Value::DoubleList((0..n).map(|_| self.f64()).collect::<Result<_>>()?)
            }
            tag::COMPOUND => {
                let n = self.count()?;
                Value::Compound((0..n).map(|_| self.value()).collect::<Result<_>>()?)
            }
            other => {
                return Err(TraciError::Protocol(format!("value type 0x{other:02x}")));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_framed_as_the_protocol_says() {
        // The field notes' example: setPhase of "B1" to 2.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut request = [0u8; 18];
            socket.read_exact(&mut request).unwrap();
            // Status: length 7, id 0xc2, ok, empty string.
            socket
                .write_all(&[0, 0, 0, 11, 7, 0xc2, 0, 0, 0, 0, 0])
                .unwrap();
            request
        });
        let mut client = Client::connect(addr, Duration::from_secs(2)).unwrap();
        client.set_tl_phase("B1", 2).unwrap();
        let request = server.join().unwrap();
        assert_eq!(
            request,
            [
                0x00, 0x00, 0x00, 0x12, 0x0e, 0xc2, 0x22, 0, 0, 0, 2, 0x42, 0x31, 0x09, 0, 0, 0, 2
            ]
        );
    }

    #[test]
    fn refusals_carry_sumo_message() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut request = [0u8; 64];
            let _ = socket.read(&mut request).unwrap();
            let message = b"no such tls";
            let mut status = vec![(7 + message.len()) as u8, 0xa2, 0xff];
            put_string(&mut status, std::str::from_utf8(message).unwrap());
            let mut answer = ((status.len() + 4) as i32).to_be_bytes().to_vec();
            answer.extend_from_slice(&status);
            socket.write_all(&answer).unwrap();
        });
        let mut client = Client::connect(addr, Duration::from_secs(2)).unwrap();
        let error = client.tl_phase("nope").unwrap_err();
        assert!(
            matches!(&error, TraciError::Refused { command: 0xa2, message } if message == "no such tls"),
            "{error:?}"
        );
    }
}
