// Institution portal: read a voucher's QR code with the camera and submit its text for the
// same check as a pasted code. Without a camera (or JavaScript) the paste box does the job.
"use strict";

(function () {
  const start = document.getElementById("scan-start");
  if (!start) {
    return;
  }
  const stop = document.getElementById("scan-stop");
  // Buttons are shown and hidden through wrappers: the shared style gives buttons a display
  // that would override their own hidden attribute.
  const startWrap = document.getElementById("scan-start-wrap");
  const stopWrap = document.getElementById("scan-stop-wrap");
  document.getElementById("scan-controls").hidden = false;
  const frame = document.getElementById("scanner");
  const video = document.getElementById("scanner-video");
  const canvas = document.getElementById("scanner-canvas");
  const status = document.getElementById("scanner-status");
  const form = document.getElementById("verify-form");
  const textarea = document.getElementById("f-code");
  let stream = null;
  let jsQRLoaded = null;

  function loadJsQR() {
    // Loaded on demand: most counters paste or never open the camera.
    if (!jsQRLoaded) {
      jsQRLoaded = new Promise((resolve, reject) => {
        if (window.jsQR) {
          resolve(window.jsQR);
          return;
        }
        const script = document.createElement("script");
        script.src = "/static/vendor/jsQR.js";
        script.onload = () => resolve(window.jsQR);
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return jsQRLoaded;
  }

  function stopCamera() {
    if (stream) {
      stream.getTracks().forEach((track) => track.stop());
      stream = null;
    }
    frame.hidden = true;
    stopWrap.hidden = true;
    startWrap.hidden = false;
  }

  function submitCode(text) {
    textarea.value = text;
    status.textContent = start.dataset.read;
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  function scan(jsQR) {
    if (!stream) {
      return;
    }
    if (video.readyState === video.HAVE_ENOUGH_DATA) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const found = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (found && found.data) {
        stopCamera();
        submitCode(found.data.trim());
        return;
      }
    }
    // A few looks a second are enough to catch a code and spare a slow phone's battery.
    window.setTimeout(() => scan(jsQR), 150);
  }

  start.addEventListener("click", async () => {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status.textContent = start.dataset.cameraMissing;
      return;
    }
    try {
      const jsQR = await loadJsQR();
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" },
        audio: false,
      });
      video.srcObject = stream;
      await video.play();
      frame.hidden = false;
      startWrap.hidden = true;
      stopWrap.hidden = false;
      status.textContent = start.dataset.scanning;
      scan(jsQR);
    } catch (error) {
      stopCamera();
      status.textContent = start.dataset.cameraMissing;
    }
  });
  stop.addEventListener("click", stopCamera);
  document.body.addEventListener("htmx:afterSwap", () => {
    status.textContent = "";
  });
  window.addEventListener("pagehide", stopCamera);
})();
