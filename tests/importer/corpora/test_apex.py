"""The apex chooser as pure functions: given scores, which frames are kept."""

from __future__ import annotations

import pytest

from importer.corpora.apex import (
    PEAK_SHARE,
    choose_apex,
    coarse_frames,
    find_apex,
    refine_frames,
    stride_of,
)


def test_k_frames_spread_over_the_peak_ends_and_best_included():
    # A plateau 10..18 (all within PEAK_SHARE of the best, 14), low around it.
    scores = {i: 0.1 for i in range(1, 30)}
    scores.update({i: 0.85 for i in range(10, 19)})
    scores[14] = 1.0
    assert choose_apex(scores, 3) == [10, 14, 18]
    assert 14 in choose_apex(scores, 2) and len(choose_apex(scores, 2)) == 2
    assert choose_apex(scores, 1) == [14]


def test_best_replaces_the_nearest_spread_frame():
    scores = {i: 0.85 for i in range(1, 11)}
    scores[4] = 1.0  # spread picks 1, 6 (5.5 rounded), 10: 6 is nearest to 4
    picked = choose_apex(scores, 3)
    assert 4 in picked and picked[0] == 1 and picked[-1] == 10 and len(picked) == 3


def test_the_peak_stops_where_scores_drop_below_the_share():
    scores = {1: 0.2, 2: 0.5, 3: 0.75, 4: 0.8, 5: 1.0, 6: 0.95, 7: 0.5, 8: 0.99}
    # 3 (0.75 < 0.8) and 7 end the run: 8 is high but not connected to the best.
    assert PEAK_SHARE == 0.8
    assert choose_apex(scores, 5) == [4, 5, 6]


def test_fewer_peak_frames_than_k_keeps_the_run_only():
    scores = {1: 0.1, 2: 0.9, 3: 0.1}
    assert choose_apex(scores, 3) == [2]


def test_ties_take_the_earliest_best():
    scores = {5: 0.8, 9: 0.8, 7: 0.1}
    assert choose_apex(scores, 1) == [5]


def test_nothing_rated_nothing_chosen():
    assert choose_apex({}, 3) == []


def test_coarse_frames_cover_the_span_with_both_ends():
    frames = coarse_frames(20, 320)
    assert frames[0] == 20 and frames[-1] == 320
    assert 14 <= len(frames) <= 17
    assert coarse_frames(5, 5) == [5]
    assert coarse_frames(3, 7) == [3, 4, 5, 6, 7]


def test_refine_frames_stay_in_the_span_between_neighbours():
    stride = stride_of(1, 300)
    frames = refine_frames(1, 1, 300, stride)
    assert frames[0] == 1 and max(frames) < 1 + stride
    assert all(1 <= f <= 300 for f in refine_frames(300, 1, 300, stride))


class Recorder:
    """A loader that records what it was asked and a rater from a score function."""

    def __init__(self, score, n: int):
        self.score, self.n, self.asked = score, n, []

    def load(self, wanted):
        self.asked.extend(wanted)
        return {i: i for i in wanted if 1 <= i <= self.n}  # the "image" is its index

    def rate(self, images):
        return [self.score(i) for i in images]


def bump(centre: float, width: float):
    return lambda i: max(0.0, 1.0 - abs(i - centre) / width)


def test_a_long_clip_is_rated_on_a_subsample_and_the_peak_found():
    rec = Recorder(bump(137, 60), 300)
    apex = find_apex(1, 300, rec.load, rec.rate, 3)
    assert len(rec.asked) <= 32  # 16 coarse + the refinement, not 300
    assert len(apex.frames) == 3
    assert any(abs(f - 137) <= stride_of(1, 300) // 4 for f in apex.frames)
    assert all(abs(f - 137) <= 60 * (1 - PEAK_SHARE) for f in apex.frames)


def test_the_span_bounds_what_is_rated():
    rec = Recorder(bump(250, 20), 300)  # the brightest frames lie outside the span
    apex = find_apex(40, 90, rec.load, rec.rate, 3)
    assert rec.asked and all(40 <= i <= 90 for i in rec.asked)
    assert apex.frames and all(40 <= f <= 90 for f in apex.frames)


def test_no_face_anywhere_gives_no_apex():
    rec = Recorder(lambda i: None, 50)
    apex = find_apex(1, 50, rec.load, rec.rate, 3)
    assert apex.frames == () and not apex.scores


@pytest.mark.parametrize("k", [1, 2, 5])
def test_never_more_than_k(k):
    rec = Recorder(lambda i: 0.5, 120)  # flat: the whole clip is the peak
    apex = find_apex(1, 120, rec.load, rec.rate, k)
    assert len(apex.frames) == k
