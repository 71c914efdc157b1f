#!/usr/bin/env python3
"""monotone.py MODEL.json FEATURE-INDEX DIRECTION

Checks an XGBoost model (its JSON form) against a monotone constraint
on one feature: at every split on the feature, every leaf below the
lower branch weighs no more (DIRECTION +1) or no less (-1) than every
leaf below the upper one, which is what XGBoost's monotone_constraints
guarantee. Prints "SPLITS VIOLATIONS"."""
import json
import sys

model = json.load(open(sys.argv[1]))
feature, sign = int(sys.argv[2]), int(sys.argv[3])
splits = bad = 0
for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
    left, right = tree["left_children"], tree["right_children"]
    index, value = tree["split_indices"], tree["split_conditions"]

    def leaves(n):
        if left[n] == -1:
            return [value[n]]
        return leaves(left[n]) + leaves(right[n])

    for n in range(len(left)):
        if left[n] != -1 and index[n] == feature:
            splits += 1
            lo, hi = leaves(left[n]), leaves(right[n])
            if sign > 0 and max(lo) > min(hi) + 1e-6:
                bad += 1
            if sign < 0 and min(lo) < max(hi) - 1e-6:
                bad += 1
print(splits, bad)
