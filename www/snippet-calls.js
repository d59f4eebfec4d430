window.snippetCallsBeforeLoad();
