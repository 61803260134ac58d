# Sourced by the install scripts under tools/: builds the commands of a Go wrapper module (a
# go.mod pinning what the Go module proxy serves) into a git-ignored bin folder, only when the
# module, the Go version or the flags changed (a stamp per binary).
#
# The sourcing script sets MOD_DIR (the wrapper module), BIN_DIR, JOBS (go build -p) and a log()
# function, and has cd'ed into MOD_DIR.

export CGO_ENABLED=0 # static binaries, as the upstream projects release them
export GOWORK=off   # the wrapper module alone, whatever go.work may appear above it
export GOMAXPROCS="${GOMAXPROCS:-2}"

# go_build NAME PACKAGE LDFLAGS: go build PACKAGE into $BIN_DIR/NAME unless its stamp is current.
go_build() {
	local name="$1" pkg="$2" ldflags="$3" stamp want start
	mkdir -p "$BIN_DIR/.stamps"
	stamp="$BIN_DIR/.stamps/$name"
	want="$(printf '%s\n' "$pkg" "$ldflags" "$(go version)" "$(cat go.mod go.sum)" | sha256sum | cut -d' ' -f1)"
	if [[ -x "$BIN_DIR/$name" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
		log "$name is up to date"
		return
	fi
	log "building $name from $pkg (go build -p $JOBS; minutes from a cold cache)"
	start=$SECONDS
	rm -f "$stamp"
	nice -n 19 go build -p "$JOBS" -trimpath -ldflags "$ldflags" -o "$BIN_DIR/$name.tmp" "$pkg"
	mv -f "$BIN_DIR/$name.tmp" "$BIN_DIR/$name"
	printf '%s\n' "$want" >"$stamp"
	log "built $name in $((SECONDS - start)) s"
}

# The version go.mod pins for a module (its replacement's, if replaced).
modver() { go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' "$1"; }
