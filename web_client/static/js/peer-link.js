// One RTCPeerConnection to one other participant of a call, negotiated with the W3C
// "perfect negotiation" pattern: both sides offer when they need to; on glare the polite
// side rolls back and the impolite side ignores the other's offer. At the first meeting the
// polite side waits briefly for the other's offer (see offer()). The impolite side restarts
// ICE when the path fails. `call` (call.js) carries the signaling.
//
// Toward the server's recorder (peer.kind "recorder") the page only sends and always
// offers. The recorder (aiortc) has no ICE restart and cannot renegotiate, so instead of
// restarting ICE or offering again on a live connection, the page rebuilds that connection
// from scratch: the recorder answers every offer with a new leg (a new segment).

const DISCONNECTED_GRACE_MS = 3000;
const FIRST_OFFER_WAIT_MS = 2000;

/** Connection to one other participant. Politeness decides who yields on offer glare. */
export class PeerLink {
  constructor(call, peer) {
    this.call = call;
    this.peer = peer;
    this.id = peer.participant_id;
    // The recorder only answers: toward it we always keep our offer.
    this.polite = call.polite && peer.kind !== "recorder";
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.isSettingRemoteAnswerPending = false;
    this.inbox = Promise.resolve();
    this.firstOfferWaited = false;
    this.disconnectTimer = null;
    this.iceRestarts = 0;
    this.rebuilds = 0;
    this.closed = false;
    this.reconnecting = false; // its signaling dropped; the server holds its slot
    this.stream = new MediaStream();
    this.previous = null; // last stats sample, for rates
    this.stats = null;
    this.pc = this.createConnection();
  }

  createConnection() {
    const pc = new RTCPeerConnection({ iceServers: this.call.iceServers });
    const local = this.call.stream;
    for (const kind of ["audio", "video"]) {
      const track = local && local.getTracks().find((t) => t.kind === kind);
      if (track) pc.addTrack(track, local);
      else if (this.peer.kind !== "recorder") pc.addTransceiver(kind, { direction: "recvonly" });
    }
    pc.onnegotiationneeded = () => this.offer();
    pc.onicecandidate = ({ candidate }) => {
      // toJSON keeps usernameFragment: after an ICE restart a late candidate of the old
      // generation is then ignored instead of applied to the new one. null = end of candidates.
      this.call.sendSignal(this.id, { candidate: candidate ? candidate.toJSON() : null });
    };
    pc.ontrack = ({ track }) => {
      for (const old of this.stream.getTracks().filter((t) => t.kind === track.kind && t !== track)) {
        this.stream.removeTrack(old);
      }
      if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
      this.call.emit("remotestream", { participantId: this.id, stream: this.stream, peer: this.peer });
    };
    pc.oniceconnectionstatechange = () => this.onIceState();
    pc.onconnectionstatechange = () => this.call.publish();
    return pc;
  }

  get toRecorder() {
    return this.peer.kind === "recorder";
  }

  /** A fresh connection to the recorder (its offer follows from negotiationneeded). */
  rebuild() {
    if (this.closed) return;
    clearTimeout(this.disconnectTimer);
    this.pc.onnegotiationneeded = null;
    this.pc.oniceconnectionstatechange = null;
    this.pc.close();
    this.rebuilds += 1;
    this.previous = null;
    this.pc = this.createConnection();
    this.call.publish();
  }

  async offer() {
    if (this.toRecorder && this.pc.remoteDescription) {
      this.rebuild(); // the recorder cannot renegotiate: a new connection, a new leg
      return;
    }
    if (this.polite && !this.firstOfferWaited && !this.pc.remoteDescription) {
      // Both sides create their connection when they meet, so both want to offer. The
      // polite side would roll its offer back, and Chromium never gathers ICE candidates
      // again after rolling back a first offer that has not produced one yet (the call
      // then stays "new" for good). So the polite side lets the other offer arrive first;
      // its answer carries our tracks. If none comes, it offers itself.
      this.firstOfferWaited = true;
      await new Promise((resolve) => setTimeout(resolve, FIRST_OFFER_WAIT_MS));
      if (this.pc.remoteDescription || this.pc.signalingState !== "stable") return;
    }
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.call.sendSignal(this.id, { description: this.description() });
    } catch (err) {
      this.call.log("offer failed", err);
    } finally {
      this.makingOffer = false;
    }
  }

  description() {
    const { type, sdp } = this.pc.localDescription;
    return { type, sdp };
  }

  /** Signals are handled one after another (an answer finishes before the next offer);
   * resolves to false when one could not be applied. */
  receive(message) {
    const done = this.inbox.then(() => this.handle(message));
    this.inbox = done.catch(() => undefined);
    return done.then(
      () => true,
      (err) => {
        this.call.log("signal failed", err);
        return false;
      },
    );
  }

  videoSender() {
    const transceiver = this.pc.getTransceivers().find((t) => t.receiver.track.kind === "video");
    return transceiver ? transceiver.sender : null;
  }

  async handle({ description, candidate, error }) {
    const pc = this.pc;
    if (description) {
      const readyForOffer =
        !this.makingOffer && (pc.signalingState === "stable" || this.isSettingRemoteAnswerPending);
      const offerCollision = description.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && offerCollision;
      if (this.ignoreOffer) return;
      this.isSettingRemoteAnswerPending = description.type === "answer";
      try {
        await pc.setRemoteDescription(description); // the polite side rolls back implicitly
      } finally {
        this.isSettingRemoteAnswerPending = false;
      }
      if (description.type === "offer") {
        await pc.setLocalDescription();
        this.call.sendSignal(this.id, { description: this.description() });
      }
    } else if (candidate !== undefined) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (err) {
        if (!this.ignoreOffer) this.call.log("candidate rejected", err);
      }
    } else if (error) {
      // The peer could not use our description (the recorder refuses an offer it cannot
      // answer and keeps recording our previous connection).
      this.call.log("description refused", error);
    }
  }

  onIceState() {
    const state = this.pc.iceConnectionState;
    clearTimeout(this.disconnectTimer);
    if (state === "failed") {
      this.restartIce();
    } else if (state === "disconnected") {
      // A Wi-Fi ↔ 4G switch: give the old path a moment before paying for a restart.
      this.disconnectTimer = setTimeout(() => {
        if (this.pc.iceConnectionState === "disconnected") this.restartIce();
      }, DISCONNECTED_GRACE_MS);
    }
    this.call.publish();
  }

  /** The impolite side restarts ICE (the design's rule); the polite side waits for it. */
  restartIce() {
    if (this.toRecorder && !this.closed) {
      this.rebuild();
      return;
    }
    if (this.polite || this.pc.connectionState === "closed") return;
    this.iceRestarts += 1;
    this.pc.restartIce();
  }

  needsRestart() {
    return ["failed", "disconnected"].includes(this.pc.iceConnectionState);
  }

  async sample() {
    const report = await this.pc.getStats();
    const now = performance.now();
    let inVideo = null;
    let inAudio = null;
    let outVideo = null;
    let outAudio = null;
    let pair = null;
    let selectedPairId = null;
    const pairs = new Map();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") inVideo = s;
      else if (s.type === "inbound-rtp" && s.kind === "audio") inAudio = s;
      else if (s.type === "outbound-rtp" && s.kind === "video") outVideo = s;
      else if (s.type === "outbound-rtp" && s.kind === "audio") outAudio = s;
      else if (s.type === "transport" && s.selectedCandidatePairId) selectedPairId = s.selectedCandidatePairId;
      else if (s.type === "candidate-pair") pairs.set(s.id, s);
    });
    pair = pairs.get(selectedPairId) || [...pairs.values()].find((p) => p.nominated && p.state === "succeeded") || null;
    const bytesIn = (inVideo?.bytesReceived || 0) + (inAudio?.bytesReceived || 0);
    const bytesOut = (outVideo?.bytesSent || 0) + (outAudio?.bytesSent || 0);
    const lost = (inVideo?.packetsLost || 0) + (inAudio?.packetsLost || 0);
    const received = (inVideo?.packetsReceived || 0) + (inAudio?.packetsReceived || 0);
    const prev = this.previous;
    const seconds = prev ? (now - prev.at) / 1000 : 0;
    const rate = (a, b) => (seconds > 0 ? Math.max(0, Math.round(((a - b) * 8) / seconds / 1000)) : null);
    const lostDelta = prev ? lost - prev.lost : lost;
    const receivedDelta = prev ? received - prev.received : received;
    const total = lostDelta + receivedDelta;
    this.previous = { at: now, bytesIn, bytesOut, lost, received };
    this.stats = {
      at: Date.now(),
      rttMs: pair && typeof pair.currentRoundTripTime === "number" ? Math.round(pair.currentRoundTripTime * 1000) : null,
      lossPercent: total > 0 ? Math.round((Math.max(0, lostDelta) / total) * 1000) / 10 : 0,
      bitrateInKbps: prev ? rate(bytesIn, prev.bytesIn) : null,
      bitrateOutKbps: prev ? rate(bytesOut, prev.bytesOut) : null,
      framesDecoded: inVideo?.framesDecoded || 0,
      framesPerSecond: inVideo?.framesPerSecond || 0,
      frameWidth: inVideo?.frameWidth || 0,
      frameHeight: inVideo?.frameHeight || 0,
      framesEncoded: outVideo?.framesEncoded || 0,
      framesSent: outVideo?.framesSent || 0,
    };
    return this.stats;
  }

  close() {
    this.closed = true;
    clearTimeout(this.disconnectTimer);
    this.pc.close();
  }
}
