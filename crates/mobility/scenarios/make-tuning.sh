#!/usr/bin/env bash
# Generates the synthetic scenarios on which the `wave` controller's few constants were chosen,
# so that the RESCO city networks stay a test the controller never saw. Needs the Debian
# packages sumo and sumo-tools. Usage: make-tuning.sh OUT_DIR
set -euo pipefail
out="${1:?usage: make-tuning.sh OUT_DIR}"
export SUMO_HOME="${SUMO_HOME:-/usr/share/sumo}"
tools="$SUMO_HOME/tools"
mkdir -p "$out"

scenario() {
  local name="$1" period="$2" seed="$3"; shift 3
  # Every junction signalised, unless the first option names the signalised ones.
  local signals=(-j traffic_light)
  if [[ "$1" == --signals-at=* ]]; then signals=(-j priority --tls.set "${1#--signals-at=}"); shift; fi
  mkdir -p "$out/$name"
  (cd "$out/$name"
    netgenerate "$@" "${signals[@]}" --tls.default-type static --seed "$seed" -o "$name.net.xml" >/dev/null
    python3 "$tools/randomTrips.py" -n "$name.net.xml" -o "$name.trips.xml" -r "$name.rou.xml" \
      -b 0 -e 3600 -p "$period" --fringe-factor 20 --min-distance 300 --seed "$seed" \
      --validate >/dev/null 2>&1
    rm -f "$name.trips.xml" "$name.rou.alt.xml"
    cat > "$name.sumocfg" <<CFG
<configuration>
  <input><net-file value="$name.net.xml"/><route-files value="$name.rou.xml"/></input>
  <time><begin value="0"/><end value="3600"/></time>
</configuration>
CFG
  )
}

scenario tune-grid3 1.6 11 --grid --grid.number 3 --grid.length 180 --default.lanenumber 2 --tls.left-green.time 8
scenario tune-grid5 1.2 12 --grid --grid.number 5 --grid.length 140 --default.lanenumber 1
scenario tune-random 1.4 13 --rand --rand.iterations 40 --rand.min-distance 120 --default.lanenumber 2
# Short approaches: signals every other column of a grid 70 m wide, so that a queue soon reaches
# back past the unsignalised junction upstream (as on the Ingolstadt maps).
scenario tune-short 0.8 15 --signals-at=B0,B1,B2,D0,D1,D2,F0,F1,F2 --grid --grid.x-number 6 \
  --grid.y-number 3 --grid.x-length 70 --grid.y-length 200 --default.lanenumber 2
scenario tune-spider 1.5 14 --spider --spider.arm-number 6 --spider.circle-number 3 --spider.space-radius 150
echo "scenarios in $out"
