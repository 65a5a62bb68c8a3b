"""What depends on the media is settled from the files: a short video sets the duration, a still image given
as the video is the image, an explicit duration still wins."""

from __future__ import annotations

from audiox.pipeline import GenerationRequest
from audiox.pipeline.prepare import prepare_request


def test_a_video_shorter_than_the_window_sets_the_duration(dit_pipe, media):
    out = dit_pipe.generate(video=media["video"], steps=1)  # clip.mkv is 4 s
    assert out.request.duration_s == 4.0 and out.audio.shape[-1] == 4 * dit_pipe.sample_rate


def test_the_default_follows_the_video_from_seconds_start(media):
    assert prepare_request(GenerationRequest(video=media["video"], seconds_start=1.5)).duration_s == 2.5


def test_an_explicit_duration_wins(media):
    assert prepare_request(GenerationRequest(video=media["video"], duration_s=2.0)).duration_s == 2.0


def test_text_continuation_and_image_keep_ten_seconds(media):
    for fields in ({"text": "rain"}, {"image": media["image"]}, {"audio": media["audio"]}):
        assert prepare_request(GenerationRequest(**fields)).duration_s == 10.0


def test_a_still_image_given_as_the_video_is_the_image(media, tmp_path):
    by_name = GenerationRequest(video=media["image"])
    assert by_name.image == media["image"] and by_name.video is None and by_name.mode == "image-to-audio"
    disguised = tmp_path / "still.mp4"  # a PNG with a video's name
    disguised.write_bytes(media["image"].read_bytes())
    request = prepare_request(GenerationRequest(video=disguised))
    assert request.image == disguised and request.video is None and request.duration_s == 10.0


def test_a_disguised_still_generates_like_the_image(dit_pipe, media, tmp_path):
    disguised = tmp_path / "still.mp4"
    disguised.write_bytes(media["image"].read_bytes())
    a = dit_pipe.generate(video=disguised, duration_s=1.0, steps=1, seed=4).audio
    b = dit_pipe.generate(image=media["image"], duration_s=1.0, steps=1, seed=4).audio
    assert a.equal(b)
