#!/usr/bin/env bash
# Time every example of the README's command-line part, in the order it lists them, in a scratch folder.
# Prints one line per example: wall seconds, CPU seconds (user + system), exit status, the command.
# Usage: bash scripts/time_readme_examples.sh [SCRATCH_DIR] [FEMURS_DIR]   (run from the repository root,
# with the environment active). The machine's load is printed before and after: say it beside the figures.
set -u
ROOT=$(pwd)
WORK=${1:-$(mktemp -d)}
FEMURS=${2:-$ROOT/../shared/data/shapes/femur}
PY=${PYTHON:-python}
mkdir -p "$WORK" && cd "$WORK" || exit 1
SPOT=$($PY -c "import inrview; print(inrview.demo_shape())")
PHOTO=$($PY -c "import inrview; print(inrview.demo_image())")
echo "load before: $(uptime)"
run() {
    /usr/bin/time -f "%e %U %S" -o time.txt "$@" >out.txt 2>err.txt
    local rc=$?
    read -r wall user sys <time.txt
    printf "%7.1f s wall %7.1f s CPU  rc=%d  %s\n" "$wall" "$(echo "$user + $sys" | bc)" "$rc" "$*"
}
I="$PY -m inrview"
run $I info "$SPOT"
run $I fit "$SPOT" -o spot_inr.ply --checkpoint spot.safetensors --metrics-json spot.json
run $I fit "$SPOT" -o spot_occ.obj --target occupancy
run $I extract spot.safetensors -o spot_128.ply --resolution 128
run $PY -c "import inrview; from inrview.io.surface import sample_cloud; from inrview.io.export import save_points; g = inrview.load(inrview.demo_shape()); save_points('scan.xyz', sample_cloud(g.vertices, g.faces, 20000, noise=0.0025)[0])"
run $I reconstruct scan.xyz -o scan_surface.ply --baseline poisson --seconds 20
run $I image fit "$PHOTO" -o astronaut_x2.png --scale 2 --checkpoint astronaut.safetensors ${IMAGE_FIT_OPTS:-}
run $I image render astronaut.safetensors -o poster.png --render-size 1024x1024 --bit-depth 16
run $I image sr "$PHOTO" -o sr.png --scale 4 --bicubic-out bicubic.png --steps 300
run $I image deblur "$PHOTO" --synthetic --kernel gaussian:2 -o sharp.png --blurred-out blurred.png --steps 300
run $I image sweep "$PHOTO" --widths 32,64 --depths 1,2 --steps 100 --table sweep.md --plot sweep.png
run xvfb-run -a -s "-screen 0 1920x1080x24" $I "$SPOT" --fit-steps 100 --screenshot spot.png --quit
run $I fit "$SPOT" -o spot_inr.ply --timelapse spot.gif --timelapse-frames 30
run $I fit --resume spot.safetensors -o spot_more.ply --steps 200
run $I image fit "$PHOTO" -o astronaut.png --timelapse astronaut.gif
run $I runs
if [ -d "$FEMURS" ] && [ -z "${SKIP_SPACE:-}" ]; then
    mkdir -p femurs && for i in $(seq -w 1 40); do cp "$FEMURS/S0${i}_Femur.ply" femurs/; done
    cp "$FEMURS"/S041_Femur.ply half_scan.ply
    run $I space fit femurs/ -o femurs.safetensors --epochs ${SPACE_EPOCHS:-300}
    run $I space info femurs.safetensors
    run $I space interpolate femurs.safetensors S001_Femur S002_Femur --steps 5 -o morph/
    run $I space complete femurs.safetensors half_scan.ply -o completed.ply
fi
echo "load after: $(uptime)"
