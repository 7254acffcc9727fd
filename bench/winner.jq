# bench/winner.jq - how the bench tables write a winner's knobs and donor
# (`include "winner";` with jq -L bench), from a row of a results file
# (bench/README.md).

# The knobs as "NAME=VALUE ..." (a knob without a value: its name), or "-".
def knobs_text:
	if (.knobs | type) == "object" and (.knobs | length) > 0
	then .knobs | to_entries | map(.key + (if .value == null then "" else "=" + (.value | tostring) end)) | join(" ")
	else "-" end;

# The bank entry the winner's line started from, "PROBLEM/TEMPLATE", or "-".
def donor_text:
	if .donor == null then "-"
	else .donor.problem + (if .donor.template then "/" + .donor.template else "" end) end;
