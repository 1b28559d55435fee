// The checklist beside a remote call (远程巡检): the checkpoint chosen when the session was
// created (older sessions pick it here), fill in the
// same form as on site, take 截图取证 snapshots of the remote video (stamped by the server with
// their offset into the call's recording), write the 整改意见 and submit.
import { api } from "./api.js";
import { grabFrame, uploadEvidence } from "./capture.js";
import { h, show } from "./dom.js";
import { answerSaver } from "./answer-saver.js";
import { renderInspectionForm } from "./inspection-form.js";
import { uploadRow } from "./upload-progress.js";

const STATE_TEXT = { draft: "填写中", submitted: "已提交，等待审核", approved: "已审核通过", returned: "已退回，请修改后重新提交" };

export async function setupInspectionPanel({ sessionId, checkpointId, video, me, host }) {
  if (!me.permissions.includes("inspection.read")) return;
  host.hidden = false;
  const body = h("div", { class: "remote-checklist", "data-testid": "remote-checklist" });
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  host.append(error, body);
  const fail = (err) => show(error, err instanceof Error ? err.message : "操作失败，请稍后再试");

  // The checkpoint (for a checklist not yet begun) is asked for alongside, not after.
  const runs = me.permissions.includes("inspection.run");
  const checkpointAhead = runs && checkpointId ? api(`/api/v1/checkpoints/${checkpointId}`) : null;
  checkpointAhead?.catch(() => {}); // unused once the checklist exists; else awaited below
  const found = await api(`/api/v1/inspections?remote_session_id=${sessionId}`);
  if (found.items.length) {
    render(await api(`/api/v1/inspections/${found.items[0].id}`));
    return;
  }
  if (!runs) {
    body.append(h("p", { class: "muted" }, "本次远程巡检尚未填写检查表"));
    return;
  }
  const begin = h("button", { type: "button", class: "btn btn-primary" }, "开始填写检查表");
  let chosen;
  if (checkpointId) {
    const checkpoint = await checkpointAhead;
    chosen = () => ({});
    body.append(h("p", { class: "ri-checkpoint" }, h("span", { class: "field-label" }, "被检查企业的检查点："), `${checkpoint.name}（${checkpoint.customer_name}）`), begin);
  } else {
    const checkpoints = (await api("/api/v1/checkpoints?limit=200&status=active")).items;
    const choice = h("select", { id: "ri-checkpoint", "aria-label": "检查点" }, checkpoints.map((c) => h("option", { value: String(c.id) }, `${c.name}（${c.customer_name}）`)));
    chosen = () => ({ checkpoint_id: Number(choice.value) });
    body.append(h("label", { class: "field-label", for: "ri-checkpoint" }, "被检查企业的检查点"), choice, begin);
  }
  begin.addEventListener("click", async () => {
    begin.disabled = true;
    try {
      render(await api("/api/v1/inspections/remote", { method: "POST", body: { remote_session_id: sessionId, ...chosen() } }));
    } catch (err) {
      fail(err);
      begin.disabled = false;
    }
  });

  /** 跳转: one chip per checklist section, so a long form never scrolls the video away. */
  function sectionNav(formNode) {
    const headings = [...formNode.querySelectorAll(".if-section > h3")];
    return h(
      "nav",
      { class: "ri-nav", "aria-label": "检查表分区" },
      headings.map((heading, i) =>
        h("button", { type: "button", class: "btn btn-small", onclick: () => heading.scrollIntoView({ block: "start", behavior: "smooth" }) }, `${i + 1}. ${heading.textContent}`),
      ),
    );
  }

  function render(inspection) {
    const base = `/api/v1/inspections/${inspection.id}`;
    const status = h("span", { class: "muted", role: "status", "data-testid": "save-status" }, STATE_TEXT[inspection.state] || "");
    const opinion = h("textarea", { rows: "3", maxlength: "5000", "aria-label": "整改意见", disabled: !inspection.can_edit });
    opinion.value = inspection.rectification_opinion || "";
    // Each answer saved on its own as it changes; flags and the 整改意见 whole.
    let saver = null;
    const later = (key, what) => saver.touch(what === "flags" ? "flags" : key);
    const save = async () => {
      show(error, "");
      return saver.flush();
    };
    const form = renderInspectionForm(inspection, {
      editable: inspection.can_edit,
      captureKinds: () => [["photo", "截图取证"]],
      onCapture: async (item) => {
        show(error, "");
        if (!video.videoWidth) {
          show(error, "对方画面尚未显示，无法截图");
          return;
        }
        let blob;
        const capturedAt = new Date();
        try {
          blob = await grabFrame(video);
        } catch (err) {
          fail(err);
          return;
        }
        // By tus with its bar in bytes; a failure says why and 重试 sends the same snapshot.
        const row = uploadRow(`截图 · ${item.label}`, blob.size);
        form.addUpload(item.key, row.node);
        const job = { itemKey: item.key, kind: "photo", blob, mime: "image/jpeg", capturedAt, fix: null, onProgress: (bytes) => row.progress(bytes) };
        const send = async () => {
          try {
            const added = await uploadEvidence(base, job);
            row.done();
            inspection.evidence = [...inspection.evidence.filter((e) => e.id !== added.id), added];
            form.setEvidence(inspection.evidence);
          } catch (err) {
            row.fail(err, send);
          }
        };
        await send();
      },
      onRemove: async (evidence) => {
        try {
          await api(`${base}/evidence/${evidence.id}`, { method: "DELETE" });
          inspection.evidence = inspection.evidence.filter((e) => e.id !== evidence.id);
          form.setEvidence(inspection.evidence);
        } catch (err) {
          fail(err);
        }
      },
      onChange: later,
    });
    saver = answerSaver({
      form,
      send: (body) => api(base, { method: "PATCH", body }),
      extras: { flags: () => form.flagList(), rectification_opinion: () => opinion.value },
      onStatus: (text) => (status.textContent = text),
      onSaved: (saved) => Object.assign(inspection, { answers: saved.answers, flags: saved.flags }),
      onFail: fail,
    });
    opinion.addEventListener("input", () => saver.touch("rectification_opinion"));
    const submit = h("button", { type: "button", class: "btn btn-primary", hidden: !inspection.can_edit }, "提交检查");
    submit.addEventListener("click", async () => {
      show(error, "");
      if (!(await save())) return;
      try {
        render(await api(`${base}/submit`, { method: "POST", body: {} }));
      } catch (err) {
        const lines = [...(err.problem?.errors || []).map((e) => e.message), ...(err.problem?.missing || []).map((m) => `「${m.item_label}」还缺照片 ${m.missing}`)];
        show(error, [err.message, ...lines].join("；"));
        if (err.problem?.errors) form.setErrors(err.problem.errors);
      }
    });
    body.replaceChildren(
      h("p", {}, `${inspection.checkpoint_name} · `, status),
      sectionNav(form.node),
      form.node,
      h("div", { class: "inspection-opinion field" }, h("span", { class: "field-label" }, "整改意见"), opinion),
      submit,
    );
  }
}
