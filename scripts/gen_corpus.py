#!/usr/bin/env python3
"""Generates the labelled classifier corpus in corpus/ (µ-law 8 kHz mono raw clips plus
corpus/labels.json), from Debian's TTS voices (espeak-ng, flite), sox tones, synthetic hold
music and line noise, band-limited to the telephone band. Deterministic (seeded).

Classes: human (people answering many ways, scripted receptionists), ivr_then_human (single and
nested menus with a path to a person, some with hold music then a person), ivr_only (menus with no
person), voicemail (greeting then beep), disconnected (SIT, with or without the intercept
message), silence (no one speaks; line noise only), fax (CNG / CED tones).

Each label gives what the evaluation needs: the class, the digit a navigator should press (menus),
the time the greeting ends (people: decision latency is measured from it), and the time the first
prompt starts (menus).

Needs: apt-get install espeak-ng flite sox.  Usage: python3 scripts/gen_corpus.py

A held-out corpus for checking that a classifier change generalises (same recipe, other random
choices of voices, rates, names and options): python3 scripts/gen_corpus.py --seed 7 --out DIR,
then switchboard evaluate --corpus DIR.
"""
import argparse, json, os, random, subprocess, tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
_args = argparse.ArgumentParser(description="Generates the labelled classifier corpus.")
_args.add_argument("--seed", type=int, default=20261124, help="random seed (the repository's corpus: 20261124)")
_args.add_argument("--out", default=os.path.join(ROOT, "corpus"), help="output directory (default: corpus/)")
ARGS = _args.parse_args()
OUT = ARGS.out
CLIPS = os.path.join(OUT, "clips")
rng = random.Random(ARGS.seed)

ESPEAK = [("en-us", 165), ("en-us+f3", 160), ("en-gb", 170), ("en-us+m3", 150), ("en-029", 160), ("en-gb-scotland", 165), ("en-us+f2", 175), ("en-us+f4", 155)]
FLITE = ["kal", "slt", "rms", "awb"]


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def duration(wav):
    out = subprocess.run(["soxi", "-D", wav], check=True, capture_output=True, text=True).stdout
    return float(out.strip())


class Clip:
    """Builds one clip as a sequence of 8 kHz segments, tracking time."""

    def __init__(self, d):
        self.d, self.parts, self.t = d, [], 0.0

    def _add(self, wav):
        self.parts.append(wav)
        self.t += duration(wav)

    def speech(self, text, voice=None):
        raw = os.path.join(self.d, f"s{len(self.parts)}.wav")
        wav = os.path.join(self.d, f"p{len(self.parts)}.wav")
        if voice is None:
            voice = rng.choice(["espeak"] * 3 + ["flite"])
        if voice == "espeak" or voice.startswith("en"):
            v, rate = rng.choice(ESPEAK) if voice == "espeak" else (voice, 165)
            run(["espeak-ng", "-v", v, "-s", str(rate + rng.randint(-15, 15)), "-w", raw, text])
        else:
            v = rng.choice(FLITE) if voice == "flite" else voice
            run(["flite", "-voice", v, "-t", text, "-o", raw])
        run(["sox", raw, "-r", "8000", "-c", "1", "-b", "16", wav, "sinc", "300-3400", "gain", "-n", "-8"])
        start = self.t
        self._add(wav)
        return start, self.t

    def silence(self, secs):
        wav = os.path.join(self.d, f"p{len(self.parts)}.wav")
        run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", wav, "trim", "0", f"{secs:.3f}"])
        self._add(wav)

    def synth(self, args, gain=-14):
        wav = os.path.join(self.d, f"p{len(self.parts)}.wav")
        run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", wav] + args + ["gain", "-n", str(gain)])
        start = self.t
        self._add(wav)
        return start

    def music(self, secs):
        chords = [("C4", "E4", "G4"), ("A3", "C4", "E4"), ("F3", "A3", "C4"), ("G3", "B3", "D4")]
        start = self.t
        n = max(1, int(secs))
        for i in range(n):
            a, b, c = chords[i % 4]
            self.synth(["synth", "1", "pluck", a, "pluck", b, "pluck", c], gain=-16)
        return start

    def write(self, name, snr_db):
        wav = os.path.join(self.d, "all.wav")
        run(["sox"] + self.parts + [wav])
        path = os.path.join(CLIPS, name + ".ulaw")
        if snr_db is None:
            run(["sox", wav, "-t", "raw", "-e", "mu-law", path])
        else:
            noise = os.path.join(self.d, "noise.wav")
            # Speech is normalised to about -8 dBFS; white noise `snr_db` below it, band-limited.
            run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", noise, "synth", f"{self.t:.3f}", "whitenoise", "sinc", "300-3400", "gain", "-n", str(-8 - snr_db)])
            run(["sox", "-m", wav, noise, "-t", "raw", "-e", "mu-law", path])
        return os.path.basename(path)


CLINICS = ["Main Street Clinic", "Oak Park Occupational Health", "Riverside Medical", "Lakeview Family Practice", "Summit Urgent Care",
           "Harbor Health", "Valley Medical Group", "Westgate Clinic", "Northside Health Center", "Fairview Occupational Medicine"]
NAMES = ["Sarah", "Mike", "Dana", "Luis", "Priya", "Tom", "Angela", "Kevin"]
GREETINGS = [
    "Thank you for calling {c}, this is {n}, how can I help you?",
    "{c}, this is {n} speaking.",
    "{c}, how may I help you?",
    "Hello, {c}.",
    "Front desk.",
    "Hello?",
    "Good morning, {c}, {n} speaking, how can I help?",
    "Hi, thanks for calling {c}. How can I help?",
    "{c} occupational health, this is {n}.",
    "Reception, this is {n}.",
    "Good afternoon, thank you for calling {c}. My name is {n}. How may I direct your call?",
    "Yeah, {c}.",
    "{c}, please hold. ... Okay, thanks for holding, how can I help you?",
    "Thank you for calling {c}. This is {n}. Are you calling to schedule an appointment?",
    "Scheduling, this is {n}.",
]
SCHED = ["For scheduling, press {d}.", "To schedule an appointment, press {d}.", "Press {d} for appointments.", "If you are calling about an appointment, please press {d}.",
         "To reach the front desk, press {d}.", "For the operator, press {d}.", "To speak with a receptionist, press {d}."]
OTHER = ["For billing, press {d}.", "For prescription refills, press {d}.", "For the pharmacy, press {d}.", "For lab results, press {d}.", "For directions and hours, press {d}."]
OPENERS = ["Thank you for calling {c}.", "Thank you for calling {c}. If this is a medical emergency, please hang up and dial 911.",
           "Welcome to {c}. Please listen carefully as our menu options have changed.", "You have reached {c}."]
WORDS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven", "8": "eight", "9": "nine"}


def menu_text(c, person_digit, n_other=2, spanish=False, words=False):
    digits = [d for d in "123456789" if d != person_digit]
    rng.shuffle(digits)
    d_show = (lambda d: WORDS[d]) if words else (lambda d: d)
    opts = [rng.choice(SCHED).format(d=d_show(person_digit))] if person_digit else []
    opts += [rng.choice(OTHER).format(d=d_show(digits[i])) for i in range(n_other)]
    rng.shuffle(opts)
    text = rng.choice(OPENERS).format(c=c) + " " + " ".join(opts)
    if spanish:
        text += " Para español, oprima nueve."
    return text


def main():
    os.makedirs(CLIPS, exist_ok=True)
    for f in os.listdir(CLIPS):
        os.remove(os.path.join(CLIPS, f))
    labels = []

    def add(name, cls, clip, snr, **extra):
        file = clip.write(name, snr)
        labels.append(dict(file=file, classification=cls, duration_ms=int(clip.t * 1000), snr_db=snr, **extra))

    snrs = [None, 20, 10]
    # People: 75 clips.
    for i in range(75):
        with tempfile.TemporaryDirectory() as d:
            clip = Clip(d)
            clip.silence(rng.uniform(0.1, 0.6))
            text = rng.choice(GREETINGS).format(c=rng.choice(CLINICS), n=rng.choice(NAMES))
            start, end = clip.speech(text)
            clip.silence(rng.uniform(2.5, 4.0))
            add(f"human-{i:03d}", "human", clip, snrs[i % 3], greeting_start_ms=int(start * 1000), greeting_end_ms=int(end * 1000), text=text)
    # Menus leading to a person: 35 clips (single, nested, with hold then a person).
    for i in range(35):
        with tempfile.TemporaryDirectory() as d:
            clip = Clip(d)
            clip.silence(rng.uniform(0.2, 0.8))
            c = rng.choice(CLINICS)
            digit = rng.choice("123450")
            text = menu_text(c, digit, n_other=rng.randint(1, 3), spanish=i % 5 == 0, words=i % 2 == 0)
            start, end = clip.speech(text)
            steps = [{"digit": digit, "after_prompt_ends": True}]
            kind = "single"
            if i % 7 == 3:
                # a nested menu: the recording continues with the second level (as after pressing)
                clip.silence(0.8)
                sub = rng.choice("12")
                clip.speech(f"To schedule a new appointment, press {WORDS[sub]}. To cancel an appointment, press {WORDS['3' if sub != '3' else '4']}.")
                steps.append({"digit": sub, "after_prompt_ends": True})
                kind = "nested"
            clip.silence(rng.uniform(2.0, 4.0))
            add(f"menu-{i:03d}", "ivr_then_human", clip, snrs[i % 3], digit=digit, digits=[s["digit"] for s in steps],
                menu_start_ms=int(start * 1000), menu_end_ms=int(end * 1000), menu_kind=kind, text=text)
    for i in range(10):
        with tempfile.TemporaryDirectory() as d:
            clip = Clip(d)
            clip.silence(0.3)
            c = rng.choice(CLINICS)
            digit = rng.choice("123")
            text = menu_text(c, digit, n_other=1)
            start, end = clip.speech(text)
            clip.silence(1.0)
            hold = clip.music(rng.uniform(4, 8))
            g0, g1 = clip.speech(rng.choice(GREETINGS).format(c=c, n=rng.choice(NAMES)))
            clip.silence(2.5)
            add(f"menu-hold-{i:03d}", "ivr_then_human", clip, snrs[i % 3], digit=digit, digits=[digit], menu_start_ms=int(start * 1000),
                menu_end_ms=int(end * 1000), menu_kind="hold_then_person", hold_start_ms=int(hold * 1000), greeting_end_ms=int(g1 * 1000), text=text)
    # Menus with no person: 10 clips.
    for i in range(10):
        with tempfile.TemporaryDirectory() as d:
            clip = Clip(d)
            clip.silence(0.3)
            c = rng.choice(CLINICS)
            text = rng.choice(OPENERS).format(c=c) + " Our office hours are Monday through Friday, eight to five. To leave a message, press one. For directions, press two."
            start, end = clip.speech(text)
            clip.silence(3.0)
            add(f"ivr-only-{i:03d}", "ivr_only", clip, snrs[i % 3], menu_start_ms=int(start * 1000), menu_end_ms=int(end * 1000), text=text)
    # Voicemail with a beep: 15 clips.
    for i in range(15):
        with tempfile.TemporaryDirectory() as d:
            clip = Clip(d)
            clip.silence(0.3)
            c = rng.choice(CLINICS)
            text = rng.choice([f"You have reached {c}. We are unable to take your call. Please leave a message after the tone.",
                               f"Hi, you've reached {rng.choice(NAMES)} at {c}. Leave your name and number and I'll call you back.",
                               f"The office is now closed. Please leave a message."])
            clip.speech(text)
            clip.silence(rng.uniform(0.2, 0.6))
            beep_hz = rng.choice([440, 850, 1000, 1400])
            beep = clip.synth(["synth", f"{rng.uniform(0.3, 0.8):.2f}", "sine", str(beep_hz)], gain=-10)
            clip.silence(3.0)
            add(f"voicemail-{i:03d}", "voicemail", clip, snrs[i % 3], beep_ms=int(beep * 1000), beep_hz=beep_hz, text=text)
    # Disconnected (SIT): 5 clips.
    for i in range(5):
        with tempfile.TemporaryDirectory() as d:
            clip = Clip(d)
            clip.silence(0.2)
            sit = clip.synth(["synth", "0.274", "sine", "913.8"], gain=-10)
            clip.synth(["synth", "0.274", "sine", "1370.6"], gain=-10)
            clip.synth(["synth", "0.380", "sine", "1776.7"], gain=-10)
            if i % 2 == 0:
                clip.speech("We're sorry, you have reached a number that has been disconnected or is no longer in service.")
            clip.silence(1.0)
            add(f"sit-{i:03d}", "disconnected", clip, snrs[i % 3], sit_ms=int(sit * 1000))
    # Silence (nobody says anything): 5 clips.
    for i in range(5):
        with tempfile.TemporaryDirectory() as d:
            clip = Clip(d)
            clip.silence(8.0)
            add(f"silence-{i:03d}", "silence", clip, [30, 20, 10, 20, 30][i])
    # Fax: 5 clips.
    for i in range(5):
        with tempfile.TemporaryDirectory() as d:
            clip = Clip(d)
            clip.silence(0.3)
            if i % 2 == 0:
                for _ in range(2):
                    clip.synth(["synth", "0.5", "sine", "1100"], gain=-10)
                    clip.silence(3.0)
            else:
                clip.synth(["synth", "3.3", "sine", "2100"], gain=-10)
                clip.silence(1.0)
            add(f"fax-{i:03d}", "fax", clip, snrs[i % 3])
    json.dump(labels, open(os.path.join(OUT, "labels.json"), "w"), indent=1)
    total = sum(os.path.getsize(os.path.join(CLIPS, l["file"])) for l in labels)
    counts = {}
    for l in labels:
        counts[l["classification"]] = counts.get(l["classification"], 0) + 1
    print(f"{len(labels)} clips, {total / 1e6:.1f} MB, {counts}")


if __name__ == "__main__":
    main()
