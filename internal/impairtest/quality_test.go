package impairtest

import "github.com/podiumhq/podium/media/participant"

// fromPub returns the quality of what p receives from the participant
// "pub", its audio and its video track (zero values for a track not there
// yet).
func fromPub(p *participant.Participant) (audio, video participant.TrackQuality) {
	for _, q := range p.Quality() {
		if q.From != "pub" {
			continue
		}
		if q.Kind == "audio" {
			audio = q
		} else {
			video = q
		}
	}
	return audio, video
}
